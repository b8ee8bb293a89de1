"""`python -m tempclock_desktop [DATA_DIR]` opens the desktop app."""

import sys

from tempclock_desktop.app import run

sys.exit(run(sys.argv[1] if len(sys.argv) > 1 else None))
