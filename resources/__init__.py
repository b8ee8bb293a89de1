"""Static files shipped with TempClock: icons, the stylesheet, offline API docs assets."""

from pathlib import Path

ROOT = Path(__file__).parent


def path(*parts: str) -> Path:
    """The path of a shipped resource file."""
    return ROOT.joinpath(*parts)
