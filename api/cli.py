"""The `tempclock` command.

Every command takes `--data-dir`; on bad input it prints one line, `Error: ...`,
and exits non-zero; with `--json` it prints exactly one JSON object (on success
the result, on failure `{"error": true, "code": ..., "message": ...}`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import inspect
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import msgspec
from peewee import PeeweeException

from tempclock.api.config import load_config
from tempclock.api.services.display import json_printable, printable
from tempclock.api.services.errors import DomainError

EXIT_ERROR = 1
EXIT_USAGE = 2
KIOSK_PORT = 8788
# An id the store can hold (a signed 64-bit integer): a larger one is a usage error.
RECORD_ID = click.IntRange(1, 2**63 - 1)


class Output(msgspec.Struct):
    """What a command produced: `data` for `--json`, `text` for people."""

    data: dict[str, Any]
    text: str


class CommandError(Exception):
    """A refusal outside the domain (a bad path, an unusable store, a failed run).

    `details` are added to the `--json` error object (a failed run's `run_id`).
    """

    def __init__(self, message: str, code: str = "error",
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details or {}


def _print_json(value: Any) -> None:
    # The stdlib writes a lone surrogate (an undecodable byte of a path or argument) where
    # msgspec refuses to; json_printable then escapes it like any other unsafe character.
    document = json.dumps(msgspec.to_builtins(value), ensure_ascii=False, separators=(",", ":"))
    click.echo(json_printable(document))


def _error_line(message: str) -> None:
    """`Error: ...` on stderr, one line whatever the message holds."""
    click.echo(f"Error: {printable(message)}", err=True)


def _fail(as_json: bool, code: str, message: str,
          details: dict[str, Any] | None = None) -> None:
    message = " ".join(str(message).split())  # one line; printable escapes what is left
    if as_json:
        _print_json({"error": True, "code": code, "message": message, **(details or {})})
    else:
        _error_line(message)
    sys.exit(EXIT_ERROR)


def store_command(group: click.Group, name: str | None = None, *, open_db: bool = True):
    """Register a command that runs against the store, with `--data-dir` and `--json`.

    The wrapped function returns an `Output`; errors become one line (or one JSON object).
    """

    def decorate(fn: Callable[..., Output]) -> click.Command:
        wants_config = "config" in inspect.signature(fn).parameters

        @click.option(
            "--data-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Data directory (default: $TEMPCLOCK_DATA_DIR or the user data directory).",
        )
        @click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
        @functools.wraps(fn)
        def command(data_dir: Path | None, as_json: bool, **kwargs: Any) -> None:
            from tempclock.api.store import close_store, open_store

            try:
                config = load_config(data_dir)
                if open_db:
                    open_store(config)
                if wants_config:
                    kwargs["config"] = config
                result = fn(**kwargs)
            except DomainError as error:
                _fail(as_json, error.code, error.message)
            except CommandError as error:
                _fail(as_json, error.code, error.message, error.details)
            except PeeweeException as error:  # an unreadable or locked store, for instance
                _fail(as_json, "database_error", f"database error: {error}")
            except OverflowError:  # a number or date beyond what the store or calendar holds
                _fail(as_json, "out_of_range", "a number or date is out of range")
            except (OSError, ValueError) as error:
                _fail(as_json, "error", str(error) or type(error).__name__)
            finally:
                if open_db:
                    close_store()
            if as_json:
                _print_json(result.data)
            else:
                click.echo(printable(result.text, keep_newlines=True))

        return group.command(name)(command)

    return decorate


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return "(none)"
    cells = [[("" if v is None else printable(str(v))) for v in row]
             for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _when(value: dt.datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


# --- the command tree -----------------------------------------------------------


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tempclock", prog_name="tempclock")
@click.option("--plugins-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              envvar="TEMPCLOCK_PLUGINS_DIR", default=None,
              help="Also load every *.py module in this folder as a plugin (while you write "
                   "one; default: $TEMPCLOCK_PLUGINS_DIR).")
@click.pass_context
def cli(ctx: click.Context, plugins_dir: Path | None) -> None:
    """TempClock: time and attendance for staffing agencies, with a local REST API.

    With no command, opens the desktop app (the same as `tempclock desktop`).
    """
    if plugins_dir is not None:  # read by every plugin host, the dispatcher's process too
        os.environ["TEMPCLOCK_PLUGINS_DIR"] = str(plugins_dir.resolve())
    if ctx.invoked_subcommand is None:
        ctx.invoke(desktop)


@cli.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Data directory (default: $TEMPCLOCK_DATA_DIR or the user data directory).")
def desktop(data_dir: Path | None = None) -> None:
    """Open the desktop admin app; it serves the API while it runs."""
    from tempclock_desktop.app import run

    sys.exit(run(data_dir, argv=sys.argv[:1]))


@cli.group()
def accounts() -> None:
    """Create and manage accounts (one per organisation)."""


def _account_data(account: Any) -> dict[str, Any]:
    return {"id": account.id, "name": account.name, "api_enabled": account.api_enabled}


@store_command(accounts, "create")
@click.argument("name")
@click.option("--enable-api", is_flag=True, help="Turn API access on straight away.")
def accounts_create(name: str, enable_api: bool) -> Output:
    """Create an account called NAME (API access off unless --enable-api)."""
    from tempclock.api.services import accounts as svc

    account = svc.create_account(name, api_enabled=enable_api)
    state = "on" if account.api_enabled else "off"
    return Output(_account_data(account),
                  f"Created account {account.id} {account.name!r} (API access {state})")


@store_command(accounts, "list")
def accounts_list() -> Output:
    """List accounts."""
    from tempclock.api.services import accounts as svc

    found = svc.list_accounts()
    rows = [[a.id, a.name, "on" if a.api_enabled else "off", _when(a.created_at)] for a in found]
    return Output({"accounts": [_account_data(a) for a in found]},
                  _table(["ID", "Name", "API", "Created"], rows))


def _api_switch(account_id: int, enabled: bool) -> Output:
    from tempclock.api.services import accounts as svc

    account = svc.set_api_enabled(account_id, enabled)
    state = "enabled" if enabled else "disabled"
    return Output(_account_data(account), f"API access {state} for account {account.id} "
                                          f"{account.name!r}")


@store_command(accounts, "enable-api")
@click.argument("account_id", type=RECORD_ID)
def accounts_enable_api(account_id: int) -> Output:
    """Turn on API access for ACCOUNT_ID."""
    return _api_switch(account_id, True)


@store_command(accounts, "disable-api")
@click.argument("account_id", type=RECORD_ID)
def accounts_disable_api(account_id: int) -> Output:
    """Turn off API access for ACCOUNT_ID (its keys get 403 from the next request)."""
    return _api_switch(account_id, False)


@store_command(accounts, "rename")
@click.argument("account_id", type=RECORD_ID)
@click.argument("name")
def accounts_rename(account_id: int, name: str) -> Output:
    """Rename ACCOUNT_ID to NAME."""
    from tempclock.api.services import accounts as svc

    account = svc.rename_account(account_id, name)
    return Output(_account_data(account), f"Account {account.id} is now {account.name!r}")


@store_command(accounts, "allow-internal-targets")
@click.argument("account_id", type=RECORD_ID)
@click.option("--deny", is_flag=True, help="Withdraw the allowance (the default again).")
def accounts_allow_internal_targets(account_id: int, deny: bool) -> Output:
    """Let ACCOUNT_ID's webhooks and connectors send to this PC and the office network.

    By default they may send only to public HTTPS addresses. The change is recorded
    with who made it and when; deliveries already queued follow it when sent.
    """
    from tempclock.api.services import accounts as svc

    account = svc.allow_internal_targets(account_id, not deny, by=svc.local_admin("cli"))
    state = "no longer" if deny else "now"
    return Output({**_account_data(account),
                   "internal_targets_allowed": account.internal_targets_allowed,
                   "changed_by": account.internal_targets_changed_by,
                   "changed_at": account.internal_targets_changed_at},
                  f"Account {account.id} {account.name!r} may {state} send to internal "
                  "addresses (this PC and the office network)")


@cli.group()
def keys() -> None:
    """Issue, list and revoke API keys."""


def _key_data(key: Any) -> dict[str, Any]:
    return {
        "id": key.id,
        "account_id": key.account_id,
        "name": key.name,
        "prefix": key.prefix,
        "status": key.status,
        "scopes": key.scopes,
        "rate_limit": key.rate_limit,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "expires_at": key.expires_at,
    }


@store_command(keys, "issue")
@click.option("--account", "account_id", type=RECORD_ID, required=True, help="Account the key is for.")
@click.option("--name", required=True, help="What the key is for, e.g. 'Bullhorn ATS'.")
@click.option("--scope", "scopes", multiple=True,
              help="A scope to grant (repeatable); none means full access.")
@click.option("--expires", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last day the key works (YYYY-MM-DD, UTC).")
@click.option("--rate-limit", type=int, default=60, show_default=True,
              help="Requests per minute.")
def keys_issue(account_id: int, name: str, scopes: tuple[str, ...], expires: dt.datetime | None,
               rate_limit: int) -> Output:
    """Issue a key. The key is printed once, now, and never again."""
    from tempclock.api.services import keys as svc

    issued = svc.issue_key(account_id, name, scopes=scopes,
                           expires_on=expires.date() if expires else None,
                           rate_limit=rate_limit)
    key = issued.key
    text = "\n".join([
        f"Issued key {key.id} {key.name!r} for account {key.account_id}:",
        "",
        f"    {issued.plaintext}",
        "",
        "Store it now: it will not be shown again.",
    ])
    return Output({"id": key.id, "name": key.name, "prefix": key.prefix,
                   "key": issued.plaintext}, text)


@store_command(keys, "list")
@click.option("--account", "account_id", type=RECORD_ID, default=None, help="Only this account's keys.")
def keys_list(account_id: int | None) -> Output:
    """List keys with their prefix and status (never the keys themselves)."""
    from tempclock.api.services import keys as svc

    found = svc.list_keys(account_id)
    rows = [[k.id, k.account_id, k.name, k.display_prefix, k.status,
             " ".join(k.scopes) or "full access", k.rate_limit, _when(k.created_at),
             _when(k.last_used_at), _when(k.expires_at)] for k in found]
    headers = ["ID", "Account", "Name", "Prefix", "Status", "Scopes", "Limit/min", "Created",
               "Last used", "Expires"]
    return Output({"keys": [_key_data(k) for k in found]}, _table(headers, rows))


@store_command(keys, "revoke")
@click.argument("key_id", type=RECORD_ID)
def keys_revoke(key_id: int) -> Output:
    """Revoke KEY_ID; requests with it are refused from the next one on."""
    from tempclock.api.services import keys as svc

    key = svc.revoke_key(key_id)
    return Output(_key_data(key), f"Revoked key {key.id} {key.name!r} ({key.display_prefix})")


@cli.group()
def locations() -> None:
    """List, create and change work sites (time zone, geofence, backdating window)."""


def _site_options(fn: Callable[..., Output]) -> Callable[..., Output]:
    """The fields of a site as options; one left out is not set (or not changed)."""
    options = [
        click.option("--name", default=None, help="The site's name."),
        click.option("--timezone", default=None,
                     help="IANA time zone, e.g. Europe/London or America/New_York."),
        click.option("--address-line1", default=None),
        click.option("--address-line2", default=None),
        click.option("--city", default=None),
        click.option("--postcode", default=None),
        click.option("--country", default=None, help="Two-letter ISO code, e.g. GB."),
        click.option("--latitude", type=float, default=None, help="Centre, in degrees."),
        click.option("--longitude", type=float, default=None, help="Centre, in degrees."),
        click.option("--capacity", type=int, default=None, help="Workers the site holds."),
        click.option("--active/--inactive", "active", default=None,
                     help="Whether workers may clock in there."),
        click.option("--geofence-mode", default=None, help="off, allow, warn or block."),
        click.option("--geofence-radius-m", type=int, default=None, help="Fence radius (m)."),
        click.option("--gps-accuracy-threshold", type=int, default=None,
                     help="A GPS fix less accurate than this (m) is flagged."),
        click.option("--kiosk-language", default=None, help="en, pl, ro or lt."),
        click.option("--max-backdate-hours", type=int, default=None,
                     help="How far back a clock action may be dated."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _site_fields(values: dict[str, Any]) -> dict[str, Any]:
    """The options given, as the fields of a LocationCreate / LocationUpdate."""
    from tempclock.api.services.locations import LocationSettings

    given = {name: value for name, value in values.items() if value is not None}
    settings = {name: given.pop(name) for name in LocationSettings.__struct_fields__
                if name in given}
    return {**given, "settings": settings} if settings else given


def _site_data(site: Any) -> dict[str, Any]:
    return msgspec.to_builtins(site)


def _site_text(verb: str, site: Any) -> str:
    s = site.settings
    return (f"{verb} location {site.id} {site.name!r} ({site.timezone}; geofence "
            f"{s.geofence_mode}; backdating up to {s.max_backdate_hours} h)")


@store_command(locations, "list")
@click.option("--account", "account_id", type=RECORD_ID, required=True, help="The account's sites.")
def locations_list(account_id: int) -> Output:
    """List an account's sites with their time zones and who is on site."""
    from tempclock.api.services import accounts as account_svc
    from tempclock.api.services import locations as svc

    account_svc.get_account(account_id)
    found: list[Any] = []
    while True:
        page = svc.list_locations(account_id, svc.LocationFilter(
            limit=100, after_id=found[-1].id if found else None))
        found += page.data
        if not page.pagination.has_more:
            break
    rows = [[s.id, s.name, s.city, s.country, s.timezone, s.settings.geofence_mode,
             s.settings.max_backdate_hours, s.on_site, "yes" if s.active else "no"]
            for s in found]
    headers = ["ID", "Name", "City", "Country", "Time zone", "Geofence", "Backdate h",
               "On site", "Active"]
    return Output({"locations": [_site_data(s) for s in found]}, _table(headers, rows))


@store_command(locations, "create")
@click.option("--account", "account_id", type=RECORD_ID, required=True, help="The account the site is for.")
@_site_options
def locations_create(account_id: int, **values: Any) -> Output:
    """Create a site: --name and --timezone are required."""
    from tempclock.api.services import accounts as account_svc
    from tempclock.api.services import locations as svc

    account_svc.get_account(account_id)
    fields = _site_fields(values)
    for required in ("name", "timezone"):
        if required not in fields:
            raise CommandError(f"Missing option --{required}", "missing_field")
    site = svc.create_location(account_id, msgspec.convert(fields, svc.LocationCreate))
    return Output(_site_data(site), _site_text("Created", site))


@store_command(locations, "update")
@click.argument("location_id", type=RECORD_ID)
@click.option("--account", "account_id", type=RECORD_ID, required=True, help="The site's account.")
@_site_options
def locations_update(location_id: int, account_id: int, **values: Any) -> Output:
    """Change LOCATION_ID: only the options given change."""
    from tempclock.api.services import locations as svc

    fields = _site_fields(values)
    if not fields:
        raise CommandError("Nothing to change: give at least one option (see --help)",
                           "missing_field")
    site = svc.update_location(account_id, location_id, msgspec.convert(fields, svc.LocationUpdate))
    return Output(_site_data(site), _site_text("Updated", site))


@store_command(cli, "demo")
@click.option("--account", "account_id", type=RECORD_ID, required=True,
              help="An empty account to fill.")
def demo(account_id: int) -> Output:
    """Load a realistic demo agency into an empty account."""
    from tempclock.api.services import accounts as account_svc
    from tempclock.api.services.demo import load_demo

    account_svc.get_account(account_id)
    with click.progressbar(length=4, label="Loading demo data", file=sys.stderr) as bar:
        summary = load_demo(account_id, progress=lambda done, total, what: bar.update(1))
    data = msgspec.structs.asdict(summary)
    text = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in data.items())
    return Output({"account_id": account_id, **data}, f"Demo data loaded: {text}")


@cli.group()
def db() -> None:
    """Database maintenance."""


@store_command(db, "upgrade", open_db=False)
def db_upgrade(config: Any) -> Output:
    """Apply pending schema migrations."""
    from tempclock.api.store import close_store, migrate, open_store

    try:
        open_store(config, upgrade=False)
        applied = migrate()
    finally:
        close_store()
    text = ("Applied: " + ", ".join(applied)) if applied else "The database is up to date."
    return Output({"applied": applied, "database": config.database_label}, text)


@store_command(db, "backup", open_db=False)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--keep", type=click.IntRange(min=1), default=None,
              help="When PATH is a folder: then delete all but the newest N dated backups there.")
def db_backup(path: Path, keep: int | None, config: Any) -> Output:
    """Back up the store to PATH: a new file, or a folder to put a dated file in.

    Safe while TempClock is serving. SQLite stores only (PostgreSQL: use pg_dump).
    """
    from tempclock.api.services import backups

    done = backups.back_up(config, path, keep=keep)
    made = done.backup
    size = backups.size_in_words(made.size_bytes)
    text = f"Backed up {config.database_label} to {made.path} ({size}): {made.holds}"
    if done.pin_key:
        text += f"\nThe kiosk PIN key is copied beside it: {done.pin_key} (keep the two together)"
    if done.deleted:
        text += f"\nDeleted {len(done.deleted)} older backup{'s' * (len(done.deleted) != 1)}."
    return Output({**msgspec.to_builtins(made), "deleted": done.deleted,
                   "pin_key": done.pin_key}, text)


@store_command(db, "restore", open_db=False)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def db_restore(path: Path, config: Any) -> Output:
    """Replace the store with the backup at PATH, after checking it.

    Refused while TempClock (the desktop, `tempclock serve`) uses the store. The
    store it replaces is kept beside it as tempclock.db.before-restore-<time>.
    """
    from tempclock.api.services import backups

    restored = backups.restore(config, path)
    lines = [f"Restored {restored.store} from {restored.backup.path}: "
             f"{restored.backup.holds}"]
    if restored.upgraded:
        lines.append("Upgraded the restored store: " + ", ".join(restored.upgraded))
    if restored.replaced:
        lines.append(f"The store it replaced is kept as {restored.replaced}")
    note = backups.pin_key_note(restored)
    if note:
        lines.append(note)
    return Output(msgspec.to_builtins(restored), "\n".join(lines))


# --- kiosk PINs and links ----------------------------------------------------------------


@cli.group()
def workers() -> None:
    """Workers' kiosk PINs."""


@store_command(workers, "set-pin")
@click.argument("worker_id", type=RECORD_ID)
@click.option("--pin", default=None, help="The PIN (4-8 digits); without it one is generated.")
def workers_set_pin(worker_id: int, pin: str | None) -> Output:
    """Set WORKER_ID's kiosk PIN, or generate one. It is printed once, now, and never again."""
    from tempclock.api.services import pins

    account_id = pins.account_of_worker(worker_id)
    chosen = pins.set_pin(account_id, worker_id, pin)
    return Output({"worker_id": worker_id, "account_id": account_id, "pin": chosen},
                  f"Kiosk PIN of worker {worker_id}: {chosen}\n"
                  "Give it to the worker now: it will not be shown again.")


@cli.group()
def kiosk() -> None:
    """Site kiosks: the link a site's tablet or workers' phones open to clock by PIN."""


@store_command(kiosk, "link")
@click.option("--location", "location_id", type=RECORD_ID, required=True,
              help="The site the kiosk is for.")
@click.option("--base-url", default=None,
              help="Where tablets reach this PC, e.g. https://192.168.1.20:8788 (default: "
                   "the API's own address).")
def kiosk_link(location_id: int, base_url: str | None, config: Any) -> Output:
    """Issue the site's kiosk link (a new one replaces the old, which stops working)."""
    from tempclock.api.services import kiosk as svc

    base = base_url or f"http://{config.host}:{config.port}"
    if not re.fullmatch(r"https?://[^\s/?#]+/?", base):
        raise CommandError(f"--base-url {base!r}: give a scheme, a host and a port only, "
                           "e.g. https://192.168.1.20:8788", "invalid")
    link = svc.create_link(svc.account_of_location(location_id), location_id, base)
    return Output(msgspec.to_builtins(link),
                  f"Kiosk link of location {location_id}:\n\n    {link.url}\n\n"
                  "Anyone with it can clock workers in at this site by PIN; it is shown once.")


@store_command(kiosk, "revoke")
@click.option("--location", "location_id", type=RECORD_ID, required=True,
              help="The site whose kiosk link to withdraw.")
def kiosk_revoke(location_id: int) -> Output:
    """Withdraw the site's kiosk link: it stops working at once."""
    from tempclock.api.services import kiosk as svc

    svc.revoke_link(svc.account_of_location(location_id), location_id)
    return Output({"location_id": location_id, "revoked": True},
                  f"Revoked the kiosk link of location {location_id}")


@store_command(kiosk, "refused")
@click.option("--account", "account_id", type=RECORD_ID, required=True,
              help="The account whose kiosks' refusals to list.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True,
              help="At most this many, newest first.")
def kiosk_refused(account_id: int, limit: int) -> Output:
    """List punches queued offline at a kiosk that were refused when they reached the host
    (too old for the site's backdating window, or against a clocking rule): follow them up
    with the worker and, if right, add the time by hand."""
    from tempclock.api.services import accounts as account_svc
    from tempclock.api.services import kiosk as svc

    account_svc.get_account(account_id)
    found = svc.refused_punches(account_id, limit)
    rows = [[p.received_at.strftime("%Y-%m-%d %H:%M:%S"), p.location_name, p.worker_name,
             p.action, _when(p.made_at), _when(p.device_time), p.code, p.reason]
            for p in found]
    headers = ["Received (UTC)", "Site", "Worker", "Action", "Made (UTC)",
               "Device clock said", "Code", "Reason"]
    return Output({"refused": [msgspec.to_builtins(p) for p in found]}, _table(headers, rows))


@store_command(kiosk, "grace")
@click.option("--location", "location_id", type=RECORD_ID, required=True,
              help="The site.")
@click.option("--minutes", type=int, default=None,
              help="Set them: minutes after a shift's start before its worker counts as late "
                   "(0 to 1440). Without it, show them.")
def kiosk_grace(location_id: int, minutes: int | None) -> Output:
    """Show or set a site's grace minutes: a shift whose worker has not clocked in this long
    after its start is late (shift_late), and missed once it has ended (default 10)."""
    from tempclock.api.services import kiosk as svc
    from tempclock.api.services import lateness

    account_id = svc.account_of_location(location_id)
    if minutes is None:
        minutes = lateness.grace_minutes(account_id, location_id)
        text = f"Grace minutes of location {location_id}: {minutes}"
    else:
        minutes = lateness.set_grace_minutes(account_id, location_id, minutes)
        text = f"Set the grace minutes of location {location_id} to {minutes}"
    return Output({"location_id": location_id, "late_grace_minutes": minutes}, text)


# --- the API server and its logs ------------------------------------------------------


@cli.command("serve")
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1: this PC only).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default 8787).")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory (default: $TEMPCLOCK_DATA_DIR or the user data directory).",
)
@click.option("--no-dispatch", "dispatch", flag_value=False, default=True,
              help="Don't deliver webhooks or feed connectors from this process.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Server processes. More than one needs PostgreSQL (TEMPCLOCK_DATABASE_URL) "
                   "and Redis for the shared rate limits (TEMPCLOCK_REDIS_URL).")
@click.option("--expose", is_flag=True,
              help="Allow a --host other machines can reach (the local network).")
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="TLS certificate (PEM): serve HTTPS. Needs --keyfile.")
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="The certificate's private key (PEM).")
@click.option("--kiosk-host", default=None,
              help="Also serve the site kiosks (/kiosk/* only) on this address, e.g. 0.0.0.0 "
                   "for the local network; the API stays where --host says.")
@click.option("--kiosk-port", type=click.IntRange(1, 65535), default=KIOSK_PORT,
              show_default=True, help="Port of the kiosk listener.")
def serve(host: str | None, port: int | None, data_dir: Path | None, dispatch: bool,
          workers: int, expose: bool, certfile: Path | None, keyfile: Path | None,
          kiosk_host: str | None, kiosk_port: int) -> None:
    """Serve the integrator API without the desktop app (Ctrl+C stops it gracefully).

    Webhook deliveries and connector events run alongside, in a process of their own
    (one, however many --workers serve requests).
    """
    from tempclock.api.dispatcher import start_process as start_dispatcher
    from tempclock.api.http import create_app
    from tempclock.api.server import (
        build_server,
        exposure_warning,
        limiter_for,
        run_workers,
        tune_serving_process,
    )
    from tempclock.api.store import close_store, open_store

    try:
        config = load_config(data_dir, host=host, port=port)
    except ValueError as error:  # TEMPCLOCK_PORT not a port
        _fail(False, "invalid", str(error))
    refusal = (_serve_refusal(config, workers, expose, certfile, keyfile)
               or _kiosk_port_refusal(config, kiosk_host, kiosk_port))
    if refusal:
        _fail(False, "invalid", refusal)
    try:
        open_store(config)
    except (PeeweeException, OSError) as error:
        _fail(False, "database_error", f"cannot open the store at {config.database_label}: "
                                       f"{error}")
    started = True
    tune_serving_process()
    try:
        tls = certfile is not None
        warning = exposure_warning(config.host, config.port, tls=tls)
        if warning:
            click.secho(warning, err=True, fg="yellow")
        alongside = _StopAlongside()
        if workers == 1:
            server = build_server(create_app(limiter=limiter_for(config)), config.host,
                                  config.port, log_level="info", certfile=certfile,
                                  keyfile=keyfile, on_stop=alongside.begin)
        else:
            close_store()  # migrated; the workers open their own connections
        shown = f"[{config.host}]" if ":" in config.host else config.host
        base = f"{'https' if tls else 'http'}://{shown}:{config.port}"
        click.echo(f"TempClock API: {base}/api/v1/  (docs: {base}/docs; data: "
                   f"{config.database_label}"
                   + (f"; {workers} workers" if workers > 1 else "") + ")", err=True)
        alongside.kiosk = (None if kiosk_host is None else
                           _start_kiosk_listener(config, kiosk_host, kiosk_port, certfile,
                                                 keyfile))
        # Webhooks and connectors are served by a process of their own.
        alongside.dispatcher = start_dispatcher(config) if dispatch else None
        # uvicorn re-raises the signal that stopped it once it has shut down gracefully:
        # Ctrl+C becomes KeyboardInterrupt, and SIGTERM a normal exit, so the cleanup
        # below (stopping the dispatcher, closing the store) runs for both.
        signal.signal(signal.SIGTERM, _exit_cleanly)
        if workers == 1:
            _stop_on_hangup(server, alongside)
        try:
            with contextlib.suppress(KeyboardInterrupt):
                if workers == 1:
                    server.run()
                    started = server.started
                else:
                    run_workers(config, workers, certfile=certfile, keyfile=keyfile)
        except SystemExit as stop:  # uvicorn could not bind (it has logged why)
            started = stop.code in (0, None)
        finally:
            alongside.finish()
    finally:
        close_store()
    if not started:
        _fail(False, "server_error", f"could not serve on {config.host}:{config.port} "
                                     "(is the port in use?)")


def _start_kiosk_listener(config: Any, host: str, port: int, certfile: Path | None,
                          keyfile: Path | None) -> Any:
    """The second listener, serving /kiosk/* alone (HTTPS with a certificate), in a process
    of its own (a kiosk flood and the integrators' load never share a lock), started."""
    import ssl

    from tempclock.api.http.kiosk_listener import KioskListener

    tls = certfile is not None
    try:
        listener = KioskListener(config, host, port, certfile=certfile, keyfile=keyfile).start()
    except ssl.SSLError as error:
        _fail(False, "invalid", f"cannot serve the kiosk over HTTPS with {certfile} and "
                                f"{keyfile}: they are not a certificate and its key ({error})")
    except OSError as error:
        _fail(False, "server_error", f"could not serve the kiosk on {host}:{port} (is the "
                                     f"port in use?): {error}")
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"TempClock kiosk: {'https' if tls else 'http'}://{shown}:{port}/kiosk/<link> "
               "(serves the site kiosks only; links: tempclock kiosk link --location ID "
               "--base-url ...)", err=True)
    if not tls:
        click.secho(f"WARNING: the kiosk on {host}:{port} is not encrypted: PINs cross the "
                    "network in clear text. Serve it with a certificate and its key "
                    "(--certfile, --keyfile).", err=True, fg="yellow")
    return listener


def _serve_refusal(config: Any, workers: int, expose: bool, certfile: Path | None,
                   keyfile: Path | None) -> str | None:
    """Why `serve` will not start with these options, in one line; None when it will."""
    from tempclock.api.server import is_loopback

    if not is_loopback(config.host) and not expose:
        return (f"--host {config.host} makes the API reachable from other machines; add "
                "--expose to confirm (and --certfile/--keyfile to encrypt it with TLS)")
    if (certfile is None) != (keyfile is None):
        return "--certfile and --keyfile go together (the certificate and its private key)"
    if workers > 1 and config.uses_sqlite:
        return (f"--workers {workers} needs PostgreSQL: SQLite serves one process; set "
                "TEMPCLOCK_DATABASE_URL=postgresql://... or serve with one worker")
    if workers > 1 and config.redis_url is None:
        return (f"--workers {workers} needs a rate-limit store the workers share: set "
                "TEMPCLOCK_REDIS_URL=redis://...")
    if config.redis_url is not None:  # one worker uses it too (limiter_for)
        from tempclock.api.http.ratelimit import RedisRateLimitStore

        try:
            RedisRateLimitStore(config.redis_url).check()
        except Exception as error:  # noqa: BLE001 - any failure to reach it, in one line
            where = config.redis_url.rpartition("@")[2]  # without a password
            return f"cannot reach Redis at {where}: {error}"
    return None


def _kiosk_port_refusal(config: Any, kiosk_host: str | None, kiosk_port: int) -> str | None:
    """Why the kiosk listener cannot have the port asked for: the API's own (on the same
    address, an address of every interface, or loopback both); None when it can."""
    from tempclock.api.server import is_loopback

    if kiosk_host is None or kiosk_port != config.port:
        return None
    hosts = {config.host, kiosk_host}
    every_interface = {"0.0.0.0", "::", ""}  # noqa: S104 - compared with, not bound
    if len(hosts) == 1 or hosts & every_interface or all(map(is_loopback, hosts)):
        return (f"--kiosk-port {kiosk_port} is the API's port too: give the kiosk a port of "
                "its own (default 8788)")
    return None


class _StopAlongside:
    """The processes `serve` runs beside the API (the kiosk listener, the dispatcher): told
    to stop the moment the API is, and waited for on one deadline from then.

    (Told one after the other once the API's graceful shutdown was over, a frozen kiosk
    listener held serve for 5.3-5.7 s, where every process promises 5.)
    """

    def __init__(self) -> None:
        self.kiosk: Any = None
        self.dispatcher: Any = None
        self._deadline: float | None = None

    def begin(self) -> None:
        """Ask both to stop, without waiting (a signal handler calls this); once."""
        if self._deadline is not None:
            return
        from tempclock.api.dispatcher import PLUGINS_STOP_S, STOP_TIMEOUT_S

        self._deadline = time.monotonic() + STOP_TIMEOUT_S + PLUGINS_STOP_S
        if self.kiosk is not None:
            self.kiosk.begin_stop()
        if self.dispatcher is not None:
            self.dispatcher.ask_to_stop()

    def finish(self) -> None:
        """Wait for both until the deadline; what is still running then is killed."""
        self.begin()
        if self.dispatcher is not None:
            self.dispatcher.stop(timeout=self._left())
        if self.kiosk is not None:
            self.kiosk.stop(timeout=self._left())

    def _left(self) -> float:
        return max(0.0, self._deadline - time.monotonic())


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _stop_on_hangup(server: object, alongside: _StopAlongside) -> None:
    """A closed terminal (SIGHUP) stops the server gracefully, as Ctrl+C does, rather than
    killing it before it flushes its logs and stops its dispatcher. uvicorn handles only
    SIGINT and SIGTERM (with --workers its supervisor restarts the workers on SIGHUP);
    Windows has no SIGHUP."""
    from tempclock.api.server import stop_server

    if hasattr(signal, "SIGHUP"):
        def hang_up(_number: int, _frame: object) -> None:
            alongside.begin()
            stop_server(server)  # type: ignore[arg-type]

        signal.signal(signal.SIGHUP, hang_up)


_SINCE = re.compile(r"(\d+)\s*([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _since(value: str | None) -> dt.datetime | None:
    """`--since`: an ISO date or time (UTC unless it has an offset), or an age like 15m, 2h, 7d."""
    if value is None:
        return None
    if match := _SINCE.fullmatch(value.strip()):
        try:
            return (dt.datetime.now(dt.UTC)
                    - dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))}))
        except OverflowError:
            raise CommandError(f"--since {value!r} is further back than the calendar goes",
                               "invalid") from None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise CommandError(f"--since {value!r}: use a date (2026-03-10), a time "
                           "(2026-03-10T07:00) or an age (15m, 2h, 7d)", "invalid") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@store_command(cli, "logs")
@click.option("--account", "account_id", type=RECORD_ID, default=None, help="Only this account.")
@click.option("--key", "key_id", type=RECORD_ID, default=None, help="Only this key (its id).")
@click.option("--status", default=None, help="A status (401) or a class (4xx).")
@click.option("--since", default=None, help="From this date/time, or this long ago (15m, 2h, 7d).")
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many.")
def logs(account_id: int | None, key_id: int | None, status: str | None, since: str | None,
         limit: int) -> Output:
    """Show API requests that presented a key, newest first (never the keys themselves).

    Refusals for being over a limit show as one row per client, key and minute: Count
    says how many requests it stands for."""
    from tempclock.api.services import api_logs

    found = api_logs.list_logs(account_id=account_id, key_id=key_id, status=status,
                               since=_since(since), limit=limit)
    rows = [[e.created_at.strftime("%Y-%m-%d %H:%M:%S"), e.account_id, e.key_id,
             e.key_prefix and f"{e.key_prefix}...", e.method,
             e.path + (f"?{e.query}" if e.query else ""), e.status, e.count,
             f"{e.duration_ms:.1f}", e.client, e.user_agent, e.error_code, e.request_id]
            for e in found]
    headers = ["Time (UTC)", "Account", "Key", "Prefix", "Method", "Path", "Status", "Count",
               "ms", "Client", "User agent", "Error", "Request id"]
    return Output({"logs": [msgspec.to_builtins(e) for e in found]}, _table(headers, rows))


# --- connectors ----------------------------------------------------------------------


@cli.group()
def connectors() -> None:
    """Connector plugins: ATS imports, payroll exports, CRM pushes."""


def _plugin_host():
    from tempclock.plugins.manager import load_plugins

    # A plugin's problems are part of what a command prints, not warnings on stderr too.
    logging.getLogger("tempclock.plugins").addHandler(logging.NullHandler())
    return load_plugins()


@store_command(connectors, "list")
def connectors_list() -> Output:
    """List installed connectors, plugins that failed to load, and plugins' runtime problems."""
    from tempclock.api.services.plugin_problems import all_problems

    host = _plugin_host()
    found = [{"id": c.connector.id, "name": c.connector.name, "kind": c.connector.kind,
              "version": c.connector.version, "package": c.package,
              "capabilities": sorted(c.connector.capabilities),
              "settings": [s.name for s in c.connector.settings]}
             for c in sorted(host.connectors.values(), key=lambda c: c.connector.id)]
    problems = [{"plugin": p.plugin, "package": p.package, "stage": p.stage,
                 "message": p.message, "count": p.count,
                 "last_seen": p.last_seen.isoformat() if p.last_seen else None}
                for p in all_problems(host)]
    host.close()
    text = _table(["Id", "Name", "Kind", "Version", "Package", "Can"],
                  [[c["id"], c["name"], c["kind"], c["version"], c["package"],
                    ", ".join(c["capabilities"])] for c in found])
    if problems:
        text += "\n\nPlugins with problems:\n" + "\n".join(
            f"  {p['plugin']} ({p['stage']}): {p['message']}"
            + (f" [{p['count']} times, last {p['last_seen'][:19]}]" if p["last_seen"] else "")
            for p in problems)
    return Output({"connectors": found, "problems": problems}, text)


def _settings_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CommandError(f"--set {pair!r}: write NAME=VALUE", "invalid")
        values[name.strip()] = value
    return values


@store_command(connectors, "run")
@click.argument("name")
@click.option("--account", "account_id", type=RECORD_ID, required=True,
              help="The account to run for.")
@click.option("--set", "pairs", multiple=True, metavar="NAME=VALUE",
              help="A setting for this run (repeatable); saved settings fill the rest.")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
def connectors_run(name: str, account_id: int, pairs: tuple[str, ...], dry_run: bool,
                   config: Any) -> Output:
    """Run connector NAME (an import or export) for an account, with a progress bar.

    A run that does not succeed is one `Error: <reason> (run N)` line and a non-zero
    exit; its traceback, if any, stays in the run record, never on the terminal.
    """
    from tempclock.api.services import connectors as svc

    overrides = _settings_pairs(pairs)
    logging.getLogger("tempclock").addHandler(logging.NullHandler())  # the run record keeps it
    host = _plugin_host()
    try:
        try:
            loaded = host.connector(name)
        except KeyError as error:
            raise CommandError(error.args[0], "not_found") from None
        interrupted = threading.Event()
        with _Progress() as progress, _ctrl_c_sets(interrupted):
            run = svc.run_connector(account_id, loaded.connector, overrides=overrides,
                                    dry_run=dry_run, export_dir=config.data_dir / "exports",
                                    on_progress=progress.update, interrupted=interrupted)
    finally:
        host.close()
    if run.status != "succeeded":
        raise CommandError(f"{run.message or run.status} (run {run.id})", f"run_{run.status}",
                           {"run_id": run.id})
    return Output(msgspec.to_builtins(run), _run_summary(loaded.connector.name, run))


def _run_summary(connector_name: str, run: Any) -> str:
    counts = ", ".join(f"{n} {k}" for k, n in sorted(run.counts.items())) or "nothing counted"
    lines = [f"{connector_name}: {run.status}{' (dry run)' if run.dry_run else ''}: {counts}"]
    lines += _attention_lines(run.needs_attention)
    lines += [f"  line {e.line}: {e.reason}" for e in run.errors[:20]]
    if len(run.errors) > 20:
        lines.append(f"  ... and {len(run.errors) - 20} more rows with errors")
    told = {f"warning: {item}" for item in run.needs_attention}
    shown = run.log[-30:] if run.dry_run else [
        line for line in run.log if line.startswith("warning:") and line not in told][-30:]
    lines += [f"  {line}" for line in shown]
    return "\n".join(lines)


def _attention_lines(items: list[str], shown: int = 50) -> list[str]:
    """A run's "needs attention" list, for people: never left unsaid."""
    if not items:
        return []
    lines = [f"Needs attention ({len(items)}): check these before using the output."]
    lines += [f"  ! {item}" for item in items[:shown]]
    if len(items) > shown:
        lines.append(f"  ... and {len(items) - shown} more (--json lists them all)")
    return lines


@contextlib.contextmanager
def _ctrl_c_sets(interrupted: threading.Event) -> Any:
    """Ctrl+C raises KeyboardInterrupt as ever, and also sets `interrupted`, which the run
    checks at its next progress report or write: a connector's `except BaseException` can
    swallow the KeyboardInterrupt (and one raised inside a finalizer is lost). A command
    started with Ctrl+C ignored (`nohup`, a background job of a script) keeps ignoring it."""
    if (threading.current_thread() is not threading.main_thread()  # a test runs `main` there
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield  # only the main thread may set handlers; one that ignores Ctrl+C goes on so
        return

    def ctrl_c(number: int, frame: Any) -> None:
        interrupted.set()
        signal.default_int_handler(number, frame)

    before = signal.signal(signal.SIGINT, ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


class _Progress:
    """A click progress bar on stderr that appears once a run reports its size (on a terminal)."""

    def __init__(self) -> None:
        self._bar = None
        self._done = 0

    def update(self, done: int, total: int | None, message: str) -> None:
        if self._bar is None and total and sys.stderr.isatty():
            self._bar = click.progressbar(length=total, label="Working", file=sys.stderr)
            self._bar.__enter__()
        if self._bar is not None:
            self._bar.update(max(0, done - self._done))
            self._done = done

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


from tempclock.api import cli_plugins  # noqa: E402,F401 - `plugins`, and more `connectors` commands


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `tempclock` console script."""
    try:
        with _stopped_cleanly_by_signals():
            code = cli.main(args=argv, prog_name="tempclock", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_ERROR)
    except click.ClickException as error:
        _error_line(error.format_message())
        sys.exit(error.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


@contextlib.contextmanager
def _stopped_cleanly_by_signals() -> Any:
    """SIGTERM (a service manager) and SIGHUP (a closed terminal) end a command as Ctrl+C
    does, through its cleanup, rather than killing it: a backup or restore stopped so
    left a hidden copy of the whole store behind. `serve` and `desktop` set their own
    handlers for a graceful stop; the previous ones are back when the command ends."""
    names = [name for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]  # not Windows'
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (a test runs `main` elsewhere)
        return
    before = {name: signal.signal(getattr(signal, name), _interrupted) for name in names}
    try:
        yield
    finally:
        for name, handler in before.items():
            signal.signal(getattr(signal, name), handler)


def _interrupted(number: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(number).name)


if __name__ == "__main__":
    # Run as `python -m`, this file is `__main__`; the commands of cli_plugins were added to
    # the tree of `tempclock.api.cli`, so run that one.
    from tempclock.api.cli import main as tempclock_main

    tempclock_main()
