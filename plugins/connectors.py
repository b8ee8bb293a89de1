"""The connector contract: what a plugin hands to `register`, and what the host hands back.

A connector moves data between TempClock and another system (an ATS, a CRM, a
payroll bureau) for one account at a time. It declares:

- `id`, `name`, `kind` (`ats`, `crm` or `payroll`), `version`, `description`;
- `settings`: the `Setting`s an admin fills in per account (the desktop builds its
  form from them, the CLI takes them as `--set NAME=VALUE`);
- `capabilities`: what it can do: `import_workers`, `export_timesheets` (both done
  by `run`) and `receive_events` (done by `receive_event`, for the `events` it names).

The host gives it a `ConnectorContext`: the only door to the account's data. A
connector never imports `api` and never sees the database.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "CAPABILITIES",
    "KINDS",
    "SETTING_TYPES",
    "Cancelled",
    "Connector",
    "ConnectorContext",
    "Event",
    "Setting",
    "SettingsError",
    "check_connector",
    "check_declared_settings",
    "clean_settings",
]

KINDS = ("ats", "crm", "payroll")
CAPABILITIES = ("import_workers", "export_timesheets", "receive_events")
SETTING_TYPES = ("text", "integer", "decimal", "boolean", "choice", "multichoice", "date", "url",
                 "path", "secret")
_ID = re.compile(r"[a-z][a-z0-9_-]{1,63}")


@dataclass(frozen=True)
class Event:
    """A change in an account, as webhooks and the `/events` feed carry it.

    `data` is the object as the API shows it (a time entry for `clock_in`, a worker
    for `worker_created`...). `id` only grows; use it to notice a repeat delivery.
    """

    id: int
    type: str
    account_id: int
    created_at: dt.datetime
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Setting:
    """One setting a connector asks the admin for.

    `type` is one of `SETTING_TYPES`; `choices` lists the allowed values of a
    `choice` or `multichoice`; `secret` values are never shown back or logged.
    """

    name: str
    label: str
    type: str = "text"
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""


class SettingsError(ValueError):
    """A setting value the connector cannot use; `name` says which."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


class Cancelled(Exception):
    """Raised by `ConnectorContext.check_cancelled()` when the admin pressed Cancel."""


class Connector:
    """Base class for connectors. Subclass it, set the attributes, implement what you declare.

    A connector object is shared by every account: keep per-run state in locals,
    never on `self`.
    """

    id: str = ""
    name: str = ""
    kind: str = ""
    version: str = "0.0.0"
    description: str = ""
    settings: tuple[Setting, ...] = ()
    capabilities: frozenset[str] = frozenset()
    #: Event types `receive_event` wants (only with the `receive_events` capability).
    events: tuple[str, ...] = ()
    #: The distribution (package) the connector came from: set by the host when it
    #: registers the connector, whatever the plugin put here. Saved settings are bound to it.
    distribution: str | None = None

    def run(self, context: ConnectorContext) -> None:
        """Import or export for `context.account_id` (`import_workers`, `export_timesheets`).

        Report progress with `context.progress`, count what happened with
        `context.count`, report a bad input row with `context.row_error` and carry on;
        tell the admin what they must check with `context.needs_attention`; write files
        with `context.write_csv`; call `context.check_cancelled()` between units of
        work. Raise to fail the run.
        """
        raise NotImplementedError(f"connector {self.id!r} does not implement run()")

    def receive_event(self, event: Event, context: ConnectorContext) -> None:
        """React to one event of an account where the connector is enabled (`receive_events`).

        Called at least once per event (compare `event.id` to spot a repeat). Send
        data out with `context.deliver`, which retries for you; don't block on the network.
        """
        raise NotImplementedError(f"connector {self.id!r} does not implement receive_event()")


@runtime_checkable
class ConnectorContext(Protocol):
    """What the host offers a connector, scoped to one account and one run.

    Records are plain dicts with the field names of the API (`API.md`).
    """

    account_id: int
    settings: Mapping[str, Any]
    dry_run: bool
    export_dir: Path

    # --- reading ---
    def workers(self, *, active: bool | None = None) -> Iterator[dict[str, Any]]:
        """Every worker of the account (optionally only active or inactive ones)."""
        ...

    def find_worker(self, employee_ref: str) -> dict[str, Any] | None:
        """The worker with this employee reference, or None."""
        ...

    def locations(self) -> list[dict[str, Any]]:
        """Every location of the account."""
        ...

    def departments(self) -> list[dict[str, Any]]:
        """Every department of the account."""
        ...

    def cost_codes(self) -> list[dict[str, Any]]:
        """Every cost code of the account."""
        ...

    def time_entries(self, date_from: dt.date, date_to: dt.date, *,
                     statuses: Iterable[str] = ("completed", "approved")
                     ) -> Iterator[dict[str, Any]]:
        """Entries with one of `statuses` whose local clock-in date is in [date_from, date_to].

        Statuses are `open`, `completed`, `approved` and `disputed`; an `open` entry
        (clocked in, not yet out) has `clock_out` and `total_hours` None. Raises
        `ValueError` for an unknown status.
        """
        ...

    # --- writing (refused, and only counted, in a dry run) ---
    def upsert_workers(self, rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, str | None]]:
        """Create or update many workers by `employee_ref` at once (much faster than one by one).

        Returns, per row and in order, `(outcome, error)`: outcome `"created"`,
        `"updated"`, `"unchanged"` or `"error"` (then `error` says why, in words).
        """
        ...

    def upsert_worker(self, fields: Mapping[str, Any]) -> str:
        """Create or update the worker with `fields["employee_ref"]`.

        Returns `"created"`, `"updated"` or `"unchanged"` (also in a dry run, where
        nothing is written). Raises `ValueError` with a readable message for bad data.
        """
        ...

    def ensure_department(self, name: str) -> dict[str, Any]:
        """The department called `name` (any case), created when missing (not in a dry run)."""
        ...

    def ensure_location(self, name: str, *, timezone: str | None = None) -> dict[str, Any]:
        """The location called `name` (any case), created when missing (not in a dry run).

        A new site gets `timezone` (an IANA name), or else the zone all the account's
        other sites share; `ValueError` when there is none to go by or it is not a zone.
        """
        ...

    def deliver(self, url: str, payload: Mapping[str, Any], *,
                headers: Mapping[str, str] | None = None) -> None:
        """Queue a JSON POST of `payload` to `url`, retried with backoff like a webhook.

        Sent as your connector or plugin (its name is on the delivery record). For one
        event, the same URL and payload are sent once however often you call this (an
        event can reach you twice); a different payload or URL is a delivery of its own.
        Raises `ValueError` when the URL is malformed or the host's egress policy refuses
        it (HTTPS to a public address, unless the admin allowed internal targets).
        """
        ...

    def write_csv(self, name: str | Path, header: Sequence[Any],
                  rows: Iterable[Sequence[Any]]) -> Path:
        """Write a spreadsheet-safe CSV file; returns its path (in a dry run, where it would be).

        `name` is a file name or path; a relative one is taken under `export_dir`, and
        missing folders are created. Cells that a spreadsheet would run as a formula
        are neutralised (see `tempclock.plugins.safe_cell`); the file appears whole or not at all.
        In a dry run `rows` are read and counted but nothing is written. The run's log
        says what was (or would be) written.
        """
        ...

    def mark_exported(self, date_from: dt.date, date_to: dt.date) -> None:
        """Say that this run exported the pay period [date_from, date_to] (local work dates).

        For `export_timesheets` connectors, at the end of `run`. The host records the
        period only if the run succeeds and is not a dry run; from then on time on those
        days is locked (manual entries and corrections are refused with `period_locked`).
        Raises `ValueError` when the dates are not two dates in order.
        """
        ...

    # --- reporting ---
    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Report how far the run is (`total` None when unknown)."""
        ...

    def count(self, name: str, n: int = 1) -> None:
        """Add `n` to the run's counter `name` (created, updated, rows, ...)."""
        ...

    def row_error(self, line: int, reason: str) -> None:
        """Report an input row that was skipped, with its line number and why."""
        ...

    def log(self, message: str, *, level: str = "info") -> None:
        """Write to the run's log (shown in the run history); a hook's lines go to the host's
        log (`tempclock.connectors`) under the plugin's name."""
        ...

    def needs_attention(self, message: str) -> None:
        """Tell the admin something they must see before trusting what the run produced.

        For a run that succeeds but is not the whole story: an export that leaves out
        entries still open, records that could not be matched. Each message is kept in
        the run record's `needs_attention` list, written to its log as a warning, and
        shown by the CLI and the desktop next to the run's outcome. Say what, who and
        why in words the admin knows; one message per thing to look at.
        """
        ...

    def check_cancelled(self) -> None:
        """Raise `Cancelled` if the admin cancelled the run."""
        ...


_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)


def _validate_one(setting: Setting, value: Any) -> Any:
    kind = setting.type
    if kind in ("text", "secret", "url", "path"):
        value = str(value).strip()
        if kind == "url" and value and not re.match(r"https?://[^\s/]+", value):
            raise SettingsError(setting.name, f"{setting.label} must be an http(s) URL")
        return value
    if kind == "integer":
        # Written as an admin types a number: ASCII digits, an optional sign. Python's int()
        # also takes "1_000" and other scripts' digits, which no admin means as a count.
        text = str(value).strip()
        if not _WHOLE_NUMBER.fullmatch(text):
            raise SettingsError(setting.name, f"{setting.label} must be a whole number")
        if len(text.lstrip("+-")) > 18:  # beyond a 64-bit count; int() refuses 4,300 digits
            raise SettingsError(setting.name, f"{setting.label} is too large")
        return int(text)
    if kind == "decimal":
        text = str(value).strip()
        number = float(text) if _DECIMAL.fullmatch(text) else math.nan
        if not math.isfinite(number):  # not a number, or one too large to hold (1e309)
            raise SettingsError(setting.name, f"{setting.label} must be a number")
        return number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(setting.name, f"{setting.label} must be yes or no")
    if kind == "date":
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise SettingsError(setting.name,
                                f"{setting.label} must be a date (YYYY-MM-DD)") from None
    if kind == "choice":
        value = str(value).strip()
        if value not in setting.choices:
            raise SettingsError(setting.name,
                                f"{setting.label} must be one of: {', '.join(setting.choices)}")
        return value
    if kind == "multichoice":
        items = value if isinstance(value, list | tuple) else str(value).split(",")
        chosen = [str(item).strip() for item in items if str(item).strip()]
        unknown = [item for item in chosen if item not in setting.choices]
        if unknown:
            raise SettingsError(setting.name, f"{setting.label}: unknown {', '.join(unknown)}; "
                                              f"choose from {', '.join(setting.choices)}")
        return chosen
    raise SettingsError(setting.name, f"{setting.label} has an unknown type {kind!r}")


def clean_settings(declared: Iterable[Setting], values: Mapping[str, Any]) -> dict[str, Any]:
    """Check `values` against the declared settings; returns them typed, defaults filled in.

    Raises `SettingsError` for an unknown name, a missing required value or a bad value.
    """
    declared = tuple(declared)
    names = {s.name for s in declared}
    unknown = sorted(set(values) - names)
    if unknown:
        raise SettingsError(unknown[0], f"Unknown setting {unknown[0]!r}; "
                                        f"this connector takes: {', '.join(sorted(names))}")
    cleaned: dict[str, Any] = {}
    for setting in declared:
        value = values.get(setting.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if setting.required and setting.default is None:
                raise SettingsError(setting.name, f"{setting.label} is required")
            value = setting.default
        if value is None or (isinstance(value, str) and not value.strip()):
            cleaned[setting.name] = value  # no value, and an empty default
            continue
        cleaned[setting.name] = _validate_one(setting, value)
    return cleaned


def check_declared_settings(declared: Any) -> list[str]:
    """What is wrong with a tuple of `Setting`s a connector or hook plugin declares."""
    if not isinstance(declared, tuple | list):
        return [f"settings must be a tuple of plugins.Setting, not {type(declared).__name__}"]
    problems: list[str] = []
    seen: set[str] = set()
    for setting in declared:
        if not isinstance(setting, Setting):
            problems.append(f"setting {setting!r} is not a plugins.Setting")
            continue
        if setting.name in seen:
            problems.append(f"setting {setting.name!r} is declared twice")
        seen.add(setting.name)
        if setting.type not in SETTING_TYPES:
            problems.append(f"setting {setting.name!r} has unknown type {setting.type!r}")
        if setting.type in ("choice", "multichoice") and not setting.choices:
            problems.append(f"setting {setting.name!r} is a {setting.type} without choices")
        elif setting.type in SETTING_TYPES:
            problems.extend(_default_problems(setting))
    return problems


def _default_problems(setting: Setting) -> list[str]:
    """A declared default is checked like a value the admin typed: it must be one."""
    if setting.default is None or (isinstance(setting.default, str)
                                   and not setting.default.strip()):
        return []
    try:
        _validate_one(setting, setting.default)
    except SettingsError as error:
        return [f"setting {setting.name!r} has an invalid default {setting.default!r}: "
                f"{error.message}"]
    return []


def check_connector(connector: Any) -> list[str]:
    """What is wrong with a connector a plugin registered (empty when it is usable)."""
    problems: list[str] = []
    if not isinstance(connector, Connector):
        return [f"{connector!r} is not a plugins.Connector"]
    if not isinstance(connector.id, str) or not _ID.fullmatch(connector.id):
        problems.append(f"id {connector.id!r} must be 2-64 lowercase letters, digits, - or _")
    if not connector.name:
        problems.append("name is empty")
    if connector.kind not in KINDS:
        problems.append(f"kind {connector.kind!r} must be one of {', '.join(KINDS)}")
    unknown = set(connector.capabilities) - set(CAPABILITIES)
    if unknown:
        problems.append(f"unknown capabilities: {', '.join(sorted(unknown))}")
    if not connector.capabilities:
        problems.append("declares no capabilities")
    problems += check_declared_settings(connector.settings)
    seen = {getattr(setting, "name", None) for setting in connector.settings}
    wants_run = {"import_workers", "export_timesheets"} & set(connector.capabilities)
    if wants_run and type(connector).run is Connector.run:
        problems.append("declares import/export but does not implement run()")
    if "receive_events" in connector.capabilities:
        if type(connector).receive_event is Connector.receive_event:
            problems.append("declares receive_events but does not implement receive_event()")
        if not connector.events and "events" not in seen:
            problems.append("declares receive_events but names no events (set `events` or an "
                            "`events` setting)")
    return problems
