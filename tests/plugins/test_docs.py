"""The plugin guide keeps up with the code: a test fails when a hook or context method is
undocumented, or a hook has no test (as datasette does for its hooks)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from tempclock.plugins import hookspecs
from tempclock.plugins.connectors import ConnectorContext

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "plugins" / "README.md").read_text(encoding="utf-8")
HOOK_TESTS = (Path(__file__).parent / "test_hooks.py").read_text(encoding="utf-8")

HOOKS = sorted(name for name, fn in vars(hookspecs).items()
               if callable(fn) and hasattr(fn, "tempclock_spec"))
CONTEXT_METHODS = sorted(name for name, member in vars(ConnectorContext).items()
                         if inspect.isfunction(member) and not name.startswith("_"))


def test_the_hook_list_is_what_the_specs_define():
    assert set(hookspecs.EVENT_HOOKS) | {"register_connectors"} == set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_section_with_its_signature_and_an_example(hook):
    params = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
    heading = f"### {hook}({params})"
    assert heading in GUIDE, f"plugins/README.md lacks the heading {heading!r}"
    section = GUIDE.split(heading, 1)[1].split("\n### ", 1)[0]
    assert "```python" in section and f"def {hook}(" in section, f"{hook} has no example"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook):
    assert re.search(rf"^def test_hook_{hook}\(", HOOK_TESTS, re.MULTILINE), (
        f"tests/plugins/test_hooks.py has no test_hook_{hook}")


@pytest.mark.parametrize("method", CONTEXT_METHODS)
def test_every_context_method_is_documented(method):
    assert f"context.{method}(" in GUIDE, f"plugins/README.md does not describe {method}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hookspec_has_a_docstring(hook):
    assert (getattr(hookspecs, hook).__doc__ or "").strip()
