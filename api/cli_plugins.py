"""`tempclock plugins list|new` and `tempclock connectors settings|enable|disable|runs`.

Everything the desktop's Connectors panel does, scriptable. Registered on the
command tree of `tempclock.api.cli`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import msgspec

from tempclock.api.cli import (
    RECORD_ID,
    CommandError,
    Output,
    _plugin_host,
    _settings_pairs,
    _table,
    _when,
    cli,
    connectors,
    store_command,
)


@cli.group()
def plugins() -> None:
    """Installed plugins (connectors and hooks), and a kit to write one."""


def _problem_data(problem: Any) -> dict[str, Any]:
    last_seen = getattr(problem, "last_seen", None)
    return {"stage": problem.stage, "message": problem.message, "traceback": problem.details,
            "count": getattr(problem, "count", 1),
            "last_seen": last_seen.isoformat() if last_seen else None}


def _plugins_data(host: Any) -> list[dict[str, Any]]:
    """Every plugin the host knows: loaded ones, and those that failed to load, with the
    problems of loading them now and those stored while they ran (the plugin process)."""
    from tempclock.api.services.plugin_problems import all_problems

    problems: dict[str, list[dict[str, Any]]] = {}
    for problem in all_problems(host):
        problems.setdefault(problem.plugin, []).append(_problem_data(problem))
    found = []
    for plugin in host.plugins:
        found.append({"name": plugin["name"], "package": plugin["package"],
                      "version": plugin["version"], "origin": plugin["origin"] or None,
                      "hooks": [h for h in plugin["hooks"] if h != "register_connectors"],
                      "connectors": plugin["connectors"],
                      "settings": [s.name for s in plugin["settings"]],
                      "loaded": True, "problems": problems.pop(plugin["name"], [])})
    for name, unloaded in problems.items():  # refused, or failed to import
        found.append({"name": name, "package": None, "version": None, "origin": None,
                      "hooks": [], "connectors": [], "settings": [], "loaded": False,
                      "problems": unloaded})
    return sorted(found, key=lambda p: p["name"])


def _plugins_text(found: list[dict[str, Any]]) -> str:
    rows = [[p["name"], p["package"] or p["origin"] or "", p["version"],
             ", ".join(p["hooks"]), ", ".join(p["connectors"]),
             "yes" if p["loaded"] else "NO", len(p["problems"]) or ""] for p in found]
    text = _table(["Plugin", "Package", "Version", "Hooks", "Connectors", "Loaded", "Problems"],
                  rows)
    troubled = [p for p in found if p["problems"]]
    if troubled:
        text += "\n\nProblems:"
        for plugin in troubled:
            for problem in plugin["problems"]:
                text += f"\n  {plugin['name']} ({problem['stage']}): {problem['message']}"
                if problem["traceback"]:
                    text += "\n" + "\n".join(f"      {line}" for line in
                                             problem["traceback"].rstrip().splitlines())
    return text


@store_command(plugins, "list")
def plugins_list() -> Output:
    """List every plugin: its package and version, hooks, connectors and problems."""
    host = _plugin_host()
    try:
        found = _plugins_data(host)
    finally:
        host.close()
    return Output({"plugins": found}, _plugins_text(found))


@store_command(plugins, "new", open_db=False)
@click.argument("name")
@click.option("--directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the package (default: a folder NAME here).")
def plugins_new(name: str, directory: Path | None) -> Output:
    """Write a ready-to-install plugin package NAME (a connector, a hook and their tests)."""
    from tempclock.api.plugin_scaffold import check_name, write_plugin

    host = _plugin_host()
    try:
        taken = host.connectors.get(check_name(name))
    finally:
        host.close()
    if taken is not None:
        raise CommandError(f"A connector with id {taken.connector.id!r} is already installed "
                           f"(plugin {taken.plugin!r}): choose another name", "conflict")
    folder = directory or Path(name.strip())
    written = write_plugin(name, folder)
    lines = [f"Wrote plugin package {folder}:"] + [f"  {path}" for path in written]
    lines += ["", "Next:", f"  pip install -e {folder}", f"  pytest {folder}",
              "  tempclock plugins list"]
    return Output({"folder": str(folder), "files": [str(p) for p in written]}, "\n".join(lines))


# --- connectors: what the desktop's panel does ---------------------------------------


def _configurable(host: Any, name: str) -> tuple[str, tuple[Any, ...], Any]:
    """(name, declared settings, connector or None) of connector or hook plugin NAME."""
    loaded = host.connectors.get(name)
    if loaded is not None:
        return name, tuple(loaded.connector.settings), loaded.connector
    try:
        return name, host.plugin_settings(name), None
    except KeyError:
        known = ", ".join(sorted({*host.connectors, *(p["name"] for p in host.plugins
                                                      if p["settings"])})) or "none"
        raise CommandError(f"No connector or plugin with settings {name!r} (installed: "
                           f"{known})", "not_found") from None


def _config_data(config: Any, declared: tuple[Any, ...]) -> dict[str, Any]:
    from tempclock.api.services.connectors import public_settings

    shown = {s.name: config.settings.get(s.name, s.default) for s in declared}  # defaults too
    return {"name": config.connector, "enabled": config.enabled,
            "settings": msgspec.to_builtins(public_settings(declared, shown)),
            "updated_at": config.updated_at}


def _config_text(data: dict[str, Any], declared: tuple[Any, ...]) -> str:
    state = "enabled" if data["enabled"] else "disabled"
    rows = [[s.name, s.label, s.type, data["settings"].get(s.name), "yes" if s.required else ""]
            for s in declared]
    return (f"{data['name']}: {state} (settings saved {_when(data['updated_at']) or 'never'})\n"
            + _table(["Setting", "Label", "Type", "Value", "Required"], rows))


@store_command(connectors, "settings")
@click.argument("name")
@click.option("--account", "account_id", type=RECORD_ID, required=True,
              help="The account whose settings these are.")
@click.option("--set", "pairs", multiple=True, metavar="NAME=VALUE",
              help="Change a setting (repeatable); the others keep their saved value.")
@click.option("--unset", "unset", multiple=True, metavar="NAME",
              help="Clear a setting (back to its default).")
def connectors_settings(name: str, account_id: int, pairs: tuple[str, ...],
                        unset: tuple[str, ...]) -> Output:
    """Show, or change with --set, the settings of connector or hook plugin NAME for an account.

    Secrets are shown as ********. Values are checked as the desktop checks them.
    """
    from tempclock.api.services import accounts
    from tempclock.api.services import connectors as svc

    accounts.get_account(account_id)
    host = _plugin_host()
    try:
        name, declared, _connector = _configurable(host, name)
    finally:
        host.close()
    config = svc.get_config(account_id, name)
    if pairs or unset:
        values = {**config.settings, **_settings_pairs(pairs)}
        declared_names = {s.name for s in declared}
        for cleared in unset:
            if cleared not in declared_names:
                raise CommandError(f"--unset {cleared!r}: {name} has no such setting (it "
                                   f"takes: {', '.join(sorted(declared_names))})", "invalid")
            values.pop(cleared, None)
        config = svc.save_plugin_settings(account_id, name, declared, values)
    data = _config_data(config, declared)
    return Output(data, _config_text(data, declared))


def _switch(name: str, account_id: int, enabled: bool) -> Output:
    from tempclock.api.services import accounts
    from tempclock.api.services import connectors as svc

    accounts.get_account(account_id)
    host = _plugin_host()
    try:
        loaded = host.connector(name)
    except KeyError as error:
        raise CommandError(error.args[0], "not_found") from None
    finally:
        host.close()
    config = svc.set_enabled(account_id, loaded.connector, enabled)
    data = _config_data(config, tuple(loaded.connector.settings))
    state = "Enabled" if enabled else "Disabled"
    return Output(data, f"{state} {loaded.connector.name} ({name}) for account {account_id}")


@store_command(connectors, "enable")
@click.argument("name")
@click.option("--account", "account_id", type=RECORD_ID, required=True,
              help="The account to switch it on for.")
def connectors_enable(name: str, account_id: int) -> Output:
    """Switch connector NAME on for an account (its saved settings must be complete).

    A connector that receives events hears the account's events from now on.
    """
    return _switch(name, account_id, True)


@store_command(connectors, "disable")
@click.argument("name")
@click.option("--account", "account_id", type=RECORD_ID, required=True,
              help="The account to switch it off for.")
def connectors_disable(name: str, account_id: int) -> Output:
    """Switch connector NAME off for an account; its settings are kept."""
    return _switch(name, account_id, False)


@store_command(connectors, "runs")
@click.argument("name", required=False)
@click.option("--account", "account_id", type=RECORD_ID, required=True,
              help="The account whose runs to show.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="At most this many, newest first.")
def connectors_runs(name: str | None, account_id: int, limit: int) -> Output:
    """The account's connector runs (of connector NAME), newest first."""
    from tempclock.api.services import accounts
    from tempclock.api.services import connectors as svc

    accounts.get_account(account_id)
    found = svc.list_runs(account_id, name, limit=limit)
    rows = [[r.id, r.connector, _when(r.started_at), _when(r.finished_at),
             r.status + (" (dry run)" if r.dry_run else ""),
             ", ".join(f"{n} {k}" for k, n in sorted(r.counts.items())),
             len(r.needs_attention) or "", r.message or ""] for r in found]
    headers = ["Run", "Connector", "Started (UTC)", "Finished", "Status", "Counts",
               "Attention", "Message"]
    return Output({"runs": [msgspec.to_builtins(r) for r in found]}, _table(headers, rows))
