"""The version of the plugin contract, and a plugin's declared range of versions it works with.

`PLUGIN_API_VERSION` grows its minor number when something is added to `tempclock.plugins`
(a hook, a context method) and its major number when something a plugin may rely on
changes or goes. A plugin says which versions it supports with a module attribute
(or an attribute of the object it registers)::

    TEMPCLOCK_PLUGIN_API = ">=1,<2"

written as a `packaging` version specifier (PEP 440). A plugin without one is
assumed to support every version; one outside its range is refused by name.
"""

from __future__ import annotations

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

__all__ = ["API_RANGE_ATTRIBUTE", "PLUGIN_API_VERSION", "api_range_refusal"]

PLUGIN_API_VERSION = "1.0"
API_RANGE_ATTRIBUTE = "TEMPCLOCK_PLUGIN_API"


def api_range_refusal(plugin_name: str, plugin: object) -> str | None:
    """Why `plugin` cannot be loaded by this host's contract version; None when it can."""
    declared = getattr(plugin, API_RANGE_ATTRIBUTE, None)
    if declared is None:
        return None
    ours = f"TempClock's plugin API is {PLUGIN_API_VERSION}"
    try:
        supported = SpecifierSet(str(declared))
    except InvalidSpecifier:
        return (f"plugin {plugin_name!r} declares {API_RANGE_ATTRIBUTE} = {declared!r}, "
                f"which is not a version range like '>=1,<2'; {ours}")
    if Version(PLUGIN_API_VERSION) in supported:
        return None
    return (f"plugin {plugin_name!r} supports plugin API {str(declared).strip()!r} only; {ours}: "
            "install a version of the plugin made for it")
