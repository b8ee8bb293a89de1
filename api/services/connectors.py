"""Connectors on the host side: per-account settings, runs, and the context a connector works through.

The connector code comes from plugins (`tempclock.plugins.Connector`); this module keeps
what belongs to an account: whether a connector is enabled, its settings, and
the history of its runs. `AccountContext` is the only door a connector has to
the account's data: it reads and writes through the other services.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
from peewee import PeeweeException

from tempclock.api.config import make_private, private_dir
from tempclock.api.services import cost_codes, departments, locations, periods, timesheets, workers
from tempclock.api.services.common import MAX_LIMIT, clean_text, emit, transaction, utc, utcnow
from tempclock.api.services.egress import check_account_url
from tempclock.api.services.errors import DomainError, Invalid, NotFound
from tempclock.api.store import database
from tempclock.api.store.models import Account as AccountRow
from tempclock.api.store.models import ConnectorConfig as ConfigRow
from tempclock.api.store.models import ConnectorRun as RunRow
from tempclock.plugins.connectors import (
    Cancelled,
    Connector,
    Event,
    Setting,
    SettingsError,
    clean_settings,
)
from tempclock.plugins.csvsafe import write_csv

log = logging.getLogger("tempclock.connectors")

MAX_ROW_ERRORS = 10_000
MAX_MESSAGE = 2_000  # characters of a failed run's message
MAX_NEEDS_ATTENTION = 1_000  # messages kept per run; the rest are counted in the last one


class ConnectorConfig(msgspec.Struct, kw_only=True):
    """A connector's switch and settings for one account (secrets included: admin only)."""

    connector: str
    enabled: bool
    settings: dict[str, Any]
    updated_at: dt.datetime | None
    #: The distribution the settings were saved for (None: before that was recorded).
    package: str | None = None


class RowError(msgspec.Struct, array_like=True):
    line: int
    reason: str


class ConnectorRun(msgspec.Struct, kw_only=True):
    """One run of a connector for an account."""

    id: int
    connector: str
    dry_run: bool
    status: str  # running | succeeded | failed | cancelled
    counts: dict[str, int]
    errors: list[RowError]
    #: What the admin must look at before trusting the output (empty when nothing).
    needs_attention: list[str]
    message: str | None
    log: list[str]
    started_at: dt.datetime
    finished_at: dt.datetime | None
    traceback: str | None = None  # of a failed run: for whoever debugs the connector


# --- settings ----------------------------------------------------------------------


def _config_row(account_id: int, connector_id: str) -> ConfigRow | None:
    return ConfigRow.get_or_none((ConfigRow.account == account_id)
                                 & (ConfigRow.connector == connector_id))


def _decode_settings(text: str) -> dict[str, Any]:
    return msgspec.json.decode(text) if text else {}


def get_config(account_id: int, connector_id: str) -> ConnectorConfig:
    """The account's switch and saved settings for a connector (off and empty if never set)."""
    row = _config_row(account_id, connector_id)
    if row is None:
        return ConnectorConfig(connector=connector_id, enabled=False, settings={},
                               updated_at=None)
    return ConnectorConfig(connector=connector_id, enabled=row.enabled,
                           settings=_decode_settings(row.settings), updated_at=utc(row.updated_at),
                           package=row.package)


def _owner_problem(config: ConnectorConfig, connector: Connector) -> str | None:
    """Why `connector` may not have these saved settings: another distribution owns them."""
    if config.package is None or config.package == connector.distribution:
        return None
    return (f"The saved settings of connector {connector.id!r} belong to package "
            f"{config.package!r}, not to {connector.distribution or 'an unpackaged plugin'!r}; "
            "they are not handed to it")


def bound_settings(account_id: int, connector: Connector) -> dict[str, Any]:
    """The account's saved settings of `connector`, only if they were saved for its distribution.

    Raises `Invalid` when another distribution's connector of the same id saved them.
    """
    config = get_config(account_id, connector.id)
    problem = _owner_problem(config, connector)
    if problem:
        raise Invalid(problem, field="connector")
    return config.settings


_TEXT_TYPES = ("text", "secret", "url", "path")
MAX_SETTING_TEXT = 4096  # a path or URL at its longest; a setting is one line


def check_settings(declared: Iterable[Setting], values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate values against a connector's declared settings, as a domain error."""
    declared = tuple(declared)
    try:
        cleaned = clean_settings(declared, values)
    except SettingsError as error:
        raise Invalid(error.message, field=error.name) from None
    for setting in declared:  # text the admin typed, held to the rules of every other text
        if setting.type in _TEXT_TYPES and isinstance(cleaned.get(setting.name), str):
            try:
                clean_text(cleaned[setting.name], setting.label, max_length=MAX_SETTING_TEXT)
            except Invalid as error:
                raise Invalid(error.message, field=setting.name) from None
    return cleaned


def _check_targets(account_id: int, declared: Iterable[Setting],
                   settings: Mapping[str, Any]) -> None:
    """URL settings (a CRM's endpoint, say) pass the account's egress policy, like webhooks."""
    for setting in declared:
        if setting.type == "url" and settings.get(setting.name):
            check_account_url(account_id, settings[setting.name], field=setting.name)


def _store(account_id: int, connector_id: str, **columns: Any) -> ConnectorConfig:
    with transaction():
        row = _config_row(account_id, connector_id)
        if row is None:
            row = ConfigRow(account=account_id, connector=connector_id)
        for name, value in columns.items():
            setattr(row, name, value)
        row.updated_at = utcnow()
        row.save()
        emit(account_id, "connector_updated", {"connector": connector_id, "enabled": row.enabled})
    return get_config(account_id, connector_id)


def save_settings(account_id: int, connector: Connector,
                  values: Mapping[str, Any]) -> ConnectorConfig:
    """Check and keep a connector's settings for the account, bound to its distribution.

    Only the values given are kept: settings another distribution saved under the same
    id (whose package was since removed) are replaced, never merged.
    """
    return _save_checked(account_id, connector.id, connector.settings, values,
                         package=connector.distribution)


def save_plugin_settings(account_id: int, name: str, declared: Iterable[Setting],
                         values: Mapping[str, Any]) -> ConnectorConfig:
    """Check and keep the settings of hook plugin `name` for the account."""
    return _save_checked(account_id, name, declared, values)


def _save_checked(account_id: int, name: str, declared: Iterable[Setting],
                  values: Mapping[str, Any], **columns: Any) -> ConnectorConfig:
    declared = tuple(declared)
    cleaned = check_settings(declared, values)
    _check_targets(account_id, declared, cleaned)
    return _store(account_id, name, settings=msgspec.json.encode(cleaned).decode(), **columns)


def set_enabled(account_id: int, connector: Connector, enabled: bool) -> ConnectorConfig:
    """Switch a connector on or off for the account; enabling checks its saved settings.

    A connector switched on hears the account's events from that moment on.
    """
    config = get_config(account_id, connector.id)
    if enabled:
        _check_targets(account_id, connector.settings,
                       check_settings(connector.settings, bound_settings(account_id, connector)))
    if enabled and not config.enabled:
        return _store(account_id, connector.id, enabled=True, enabled_at=utcnow())
    return _store(account_id, connector.id, enabled=bool(enabled))


def enabled_connectors(account_id: int) -> dict[str, dt.datetime]:
    """The connectors switched on for the account, with when each was (aware UTC)."""
    rows = (ConfigRow.select(ConfigRow.connector, ConfigRow.enabled_at, ConfigRow.updated_at)
            .where((ConfigRow.account == account_id) & ConfigRow.enabled))
    return {row.connector: utc(row.enabled_at or row.updated_at) for row in rows}


def public_settings(declared: Iterable[Setting], settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings with every secret's value shown as ******** (for run records and lists)."""
    secret = {s.name for s in declared if s.type == "secret"}
    return {k: ("********" if k in secret and v else v) for k, v in settings.items()}


# --- the context -------------------------------------------------------------------


def _plain(record: msgspec.Struct) -> dict[str, Any]:
    return msgspec.to_builtins(record, builtin_types=(dt.datetime, dt.date))


def _shared_zone(sites: list[dict[str, Any]]) -> str | None:
    """The one time zone all these sites are in, or None (no sites, or several zones)."""
    zones = {site["timezone"] for site in sites}
    return zones.pop() if len(zones) == 1 else None


def _rows(n: int) -> str:
    return f"{n:,} row{'' if n == 1 else 's'}"


class AccountContext:
    """A connector's view of one account for one run (implements `tempclock.plugins.ConnectorContext`).

    Writes are grouped into short transactions so a long import never holds the
    store's write lock for more than a moment; in a dry run nothing is written.
    """

    def __init__(
        self,
        account_id: int,
        *,
        connector_id: str | None = None,
        settings: Mapping[str, Any] | None = None,
        dry_run: bool = False,
        export_dir: Path | None = None,
        on_progress: Callable[[int, int | None, str], None] | None = None,
        cancel: threading.Event | None = None,
        interrupted: threading.Event | None = None,
        event: Event | None = None,
    ) -> None:
        self.account_id = account_id
        self.connector_id = connector_id
        self.settings = dict(settings or {})
        self.dry_run = dry_run
        self.export_dir = export_dir or Path.cwd()
        self.counts: dict[str, int] = {}
        self.row_errors: list[RowError] = []
        self.attention: list[str] = []
        self.attention_untold = 0
        self.lines: list[str] = []
        self._on_progress = on_progress
        self._cancel = cancel or threading.Event()
        self._interrupted = interrupted or threading.Event()
        self._event = event
        self.exported: list[periods.ExportedPeriod] = []
        self._txn = None

    def for_plugin(self, name: str, declared: Iterable[Setting] = ()) -> AccountContext:
        """This context as hook plugin `name` sees it: its deliveries and log lines carry its
        name, and `settings` are the ones the admin saved for it (`declared` fills defaults)."""
        saved = get_config(self.account_id, name).settings
        try:
            settings = clean_settings(declared, saved)
        except SettingsError:  # saved before the plugin changed what it declares
            settings = clean_settings(declared, {})
        return AccountContext(self.account_id, connector_id=name, settings=settings,
                              dry_run=self.dry_run, export_dir=self.export_dir,
                              event=self._event)

    # reading
    def workers(self, *, active: bool | None = None) -> Iterator[dict[str, Any]]:
        after = 0
        while True:
            page = workers.list_workers(self.account_id, workers.WorkerFilter(
                active=active, after_id=after, limit=MAX_LIMIT))
            yield from (_plain(w) for w in page.data)
            if not page.pagination.has_more:
                return
            after = page.data[-1].id

    def find_worker(self, employee_ref: str) -> dict[str, Any] | None:
        found = workers.find_worker_by_ref(self.account_id, employee_ref)
        return None if found is None else _plain(found)

    def _all(self, lister: Callable[..., Any], filter_type: type) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        after = 0
        while True:
            page = lister(self.account_id, filter_type(after_id=after, limit=MAX_LIMIT))
            found.extend(_plain(item) for item in page.data)
            if not page.pagination.has_more:
                return found
            after = page.data[-1].id

    def locations(self) -> list[dict[str, Any]]:
        return self._all(locations.list_locations, locations.LocationFilter)

    def departments(self) -> list[dict[str, Any]]:
        return self._all(departments.list_departments, departments.DepartmentFilter)

    def cost_codes(self) -> list[dict[str, Any]]:
        return self._all(cost_codes.list_cost_codes, cost_codes.CostCodeFilter)

    def time_entries(self, date_from: dt.date, date_to: dt.date, *,
                     statuses: Iterable[str] = ("completed", "approved")
                     ) -> Iterator[dict[str, Any]]:
        wanted = {statuses} if isinstance(statuses, str) else set(statuses)
        unknown = sorted(wanted - set(timesheets.STATUSES))
        if unknown:
            raise ValueError(f"Unknown entry status {unknown[0]!r}; "
                             f"use any of: {', '.join(timesheets.STATUSES)}")
        params = timesheets.TimeEntryFilter(date_from=date_from, date_to=date_to,
                                            entry_filter="all")
        for entry in timesheets.iter_entries(self.account_id, params):
            if entry.status in wanted:
                yield _plain(entry)

    # writing
    def _begin_write(self) -> None:
        self.check_cancelled()  # a connector that never asks still writes nothing more
        if self._txn is None:
            self._txn = database.atomic()
            self._txn.__enter__()

    def _after_write(self) -> None:
        # Every write call commits before control goes back to the connector. A batch kept
        # open across calls held the store's write lock while the connector did its own
        # work, fetching an ATS's next page, say: every clock-in, API write and kiosk punch
        # waited with it (a 2 s pause between two writes held an admin's write 1.96 s; a
        # hung call, for ever). A batch call (`upsert_workers`) is one commit; a loop of
        # single rows pays for a commit each (0.63 -> 1.10 ms a row, 3,000 rows).
        self.commit()

    def commit(self) -> None:
        """Commit the writes made so far (the host calls it at the end of a run)."""
        if self._txn is not None:
            txn, self._txn = self._txn, None
            txn.__exit__(None, None, None)

    def rollback(self) -> None:
        """Drop uncommitted writes (after a failure)."""
        if self._txn is not None:
            txn, self._txn = self._txn, None
            if not database.in_transaction():
                # Ctrl+C landed while the block was being entered (a BEGIN may have gone out,
                # the block was not yet recorded): leaving it would fail, so roll back plainly.
                with contextlib.suppress(PeeweeException):  # no BEGIN had gone out
                    database.rollback()
                return
            # Leaving the block with an error is what rolls a peewee atomic() back (the
            # block itself has no rollback(): a failed run after a write crashed here).
            txn.__exit__(RuntimeError, RuntimeError("the run failed"), None)

    def upsert_workers(self, rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, str | None]]:
        items: list[workers.WorkerUpdate | None] = []
        converted: list[tuple[str, str | None] | None] = []
        for fields in rows:
            try:
                items.append(msgspec.convert(dict(fields), workers.WorkerUpdate, strict=False))
                converted.append(None)
            except msgspec.ValidationError as error:
                items.append(None)
                converted.append(("error", str(error)))
        valid = [item for item in items if item is not None]
        self._begin_write()
        if self.dry_run:
            with transaction() as savepoint:
                done = workers.upsert_workers(self.account_id, valid)
                savepoint.rollback()
        else:
            done = workers.upsert_workers(self.account_id, valid)
        outcomes = iter(done)
        results = []
        for early in converted:
            if early is not None:
                results.append(early)
                continue
            result = next(outcomes)
            results.append((result.outcome,
                            None if result.error is None else result.error.message))
        self._after_write()
        return results

    def upsert_worker(self, fields: Mapping[str, Any]) -> str:
        ((outcome, error),) = self.upsert_workers([fields])
        if error is not None:
            raise ValueError(error)
        return outcome

    def ensure_department(self, name: str) -> dict[str, Any]:
        """The department called `name`, created when missing (not in a dry run)."""
        for dept in self.departments():
            if dept["name"].casefold() == name.strip().casefold():
                return dept
        if self.dry_run:
            return {"id": None, "name": name.strip()}
        self._begin_write()
        try:
            created = departments.create_department(
                self.account_id, departments.DepartmentCreate(name=name))
        except DomainError as error:
            raise ValueError(error.message) from None
        self._after_write()
        return _plain(created)

    def ensure_location(self, name: str, *, timezone: str | None = None) -> dict[str, Any]:
        """The location called `name` (any case), created when missing (not in a dry run).

        A new site gets `timezone`, or else the time zone every other site of the
        account shares; with none to go by, `ValueError` asks for one.
        """
        sites = self.locations()
        for site in sites:
            if site["name"].casefold() == name.strip().casefold():
                return site
        zone = timezone or _shared_zone(sites)
        if zone is None:
            raise ValueError(f"Location {name.strip()!r} does not exist yet: say which time "
                             "zone it is in (timezone='Europe/London', say)")
        if self.dry_run:
            return {"id": None, "name": name.strip(), "timezone": zone}
        self._begin_write()
        try:
            created = locations.create_location(
                self.account_id, locations.LocationCreate(name=name.strip(), timezone=zone))
        except DomainError as error:
            raise ValueError(error.message) from None
        self._after_write()
        return _plain(created)

    def deliver(self, url: str, payload: Mapping[str, Any], *,
                headers: Mapping[str, str] | None = None) -> None:
        from tempclock.api.services import deliveries

        try:
            deliveries.queue_connector_delivery(
                self.account_id, self.connector_id or "plugin", url, payload,
                headers=headers, event_id=self._event.id if self._event else None,
                event_type=self._event.type if self._event else "connector")
        except DomainError as error:  # plugins know ValueError, not our errors
            raise ValueError(error.message) from None

    def write_csv(self, name: str | Path, header: Sequence[Any],
                  rows: Iterable[Sequence[Any]]) -> Path:
        path = Path(self.export_dir, Path(name).expanduser())
        if self.dry_run:
            self.log(f"Dry run: would write {_rows(sum(1 for _ in rows))} to {path}")
            return path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            written = write_csv(path, header, rows)
        except OSError as error:  # a folder that is a file, read-only, full, or not there
            raise ValueError(f"Cannot write {path}: {_why_not_written(error)}") from None
        self.log(f"Wrote {_rows(written)} to {path}")
        return path

    def mark_exported(self, date_from: dt.date, date_to: dt.date) -> None:
        """Note the pay period this run exported; `run_connector` records it on success."""
        try:
            period = periods.check_period(date_from, date_to)
        except DomainError as error:
            raise ValueError(error.message) from None
        if self.dry_run:
            self.log(f"Dry run: {date_from} to {date_to} stays open for corrections")
        else:
            self.exported.append(period)

    # reporting
    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        self.check_cancelled()
        if self._on_progress is not None:
            self._on_progress(done, total, message)

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def row_error(self, line: int, reason: str) -> None:
        if len(self.row_errors) < MAX_ROW_ERRORS:
            self.row_errors.append(RowError(line, reason))
        self.count("errors")

    def log(self, message: str, *, level: str = "info") -> None:
        self.lines.append(f"{level}: {message}")
        log.log(logging.getLevelName(level.upper()) if level.upper() in
                ("DEBUG", "INFO", "WARNING", "ERROR") else logging.INFO,
                "%s: %s", self.connector_id, message)

    def needs_attention(self, message: str) -> None:
        if len(self.attention) < MAX_NEEDS_ATTENTION:
            self.attention.append(message)
        else:
            self.attention_untold += 1
        self.log(message, level="warning")

    def attention_list(self) -> list[str]:
        """What needs attention, as the run record keeps it."""
        if not self.attention_untold:
            return list(self.attention)
        return [*self.attention, f"...and {self.attention_untold:,} more"]

    def check_cancelled(self) -> None:
        """Raise `Cancelled` once the admin cancelled the run, and KeyboardInterrupt once
        Ctrl+C was pressed: the host asks too (at each progress report and write), so a
        connector that never asks, or one whose `except BaseException` swallowed the
        KeyboardInterrupt Ctrl+C raised, still stops."""
        if self._interrupted.is_set():
            raise KeyboardInterrupt("Ctrl+C")
        if self._cancel.is_set():
            raise Cancelled("cancelled by the admin")


# --- runs ---------------------------------------------------------------------------


def _run_record(row: RunRow) -> ConnectorRun:
    errors = msgspec.json.decode(row.errors or "[]")
    errors = errors if isinstance(errors, dict) else {}
    return ConnectorRun(
        id=row.id,
        connector=row.connector,
        dry_run=row.dry_run,
        status=row.status,
        counts=msgspec.json.decode(row.counts or "{}"),
        errors=[RowError(*e) for e in errors.get("rows", [])],
        needs_attention=errors.get("needs_attention", []),
        message=errors.get("message"),
        log=errors.get("log", []),
        started_at=utc(row.started_at),
        finished_at=utc(row.finished_at),
        traceback=errors.get("traceback"),
    )


def run_connector(
    account_id: int,
    connector: Connector,
    *,
    overrides: Mapping[str, Any] | None = None,
    dry_run: bool = False,
    export_dir: Path | None = None,
    on_progress: Callable[[int, int | None, str], None] | None = None,
    cancel: threading.Event | None = None,
    interrupted: threading.Event | None = None,
) -> ConnectorRun:
    """Run a connector's import or export for an account and record the run.

    Settings are the account's saved ones with `overrides` on top. A connector
    that raises anything (even `SystemExit`) fails its run: the message and the
    traceback are kept in the run record, and the host carries on. One that sees
    `Cancelled` ends as `cancelled`. Writes made before a failure (or Ctrl+C) stay,
    as each write call commits on its own; a dry run writes nothing. The pay periods the
    connector marked exported are recorded (and lock their time) only when the run
    succeeded and was not a dry run.
    """
    settings = _settings_for_run(account_id, connector, overrides)
    with transaction():
        row = RunRow.create(account=account_id, connector=connector.id, dry_run=dry_run,
                            settings=msgspec.json.encode(public_settings(connector.settings,
                                                                 settings)).decode())
    context = AccountContext(account_id, connector_id=connector.id, settings=settings,
                             dry_run=dry_run, export_dir=export_dir, on_progress=on_progress,
                             cancel=cancel, interrupted=interrupted)
    if export_dir is None:
        return _run_and_record(row, connector, context)
    private_dir(export_dir)  # the host's exports folder (staff data): this user's only
    try:
        return _run_and_record(row, connector, context)
    finally:
        make_private(export_dir)  # what the connector wrote there, whatever modes it chose


def _run_and_record(row: RunRow, connector: Connector, context: AccountContext) -> ConnectorRun:
    """Run the connector; its outcome, whatever it raised, becomes the run's record."""
    try:
        connector.run(context)
        context.check_cancelled()  # one that swallowed the stop does not end as a success
        context.commit()
    except Cancelled:
        context.commit()
        return _finish_run(row, context, "cancelled", "Cancelled by the admin")
    except KeyboardInterrupt:
        context.rollback()
        _finish_run(row, context, "cancelled", "Interrupted")
        raise
    except BaseException as error:  # noqa: BLE001 - a connector's failure is its run's, not ours
        context.rollback()
        log.exception("connector %s failed for account %s", connector.id, context.account_id)
        return _finish_run(row, context, "failed", _failure_message(error),
                           traceback.format_exc())
    return _finish_run(row, context, "succeeded")


def _settings_for_run(account_id: int, connector: Connector,
                      overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    if not ({"import_workers", "export_timesheets"} & set(connector.capabilities)):
        raise Invalid(f"{connector.name} only receives events; there is nothing to run",
                      field="connector")
    if not AccountRow.select(AccountRow.id).where(AccountRow.id == account_id).exists():
        raise NotFound.of("Account", account_id)
    saved = bound_settings(account_id, connector)
    return check_settings(connector.settings, {**saved, **(overrides or {})})


def _why_not_written(error: OSError) -> str:
    """An operating system's refusal to write a file, in an office admin's words."""
    if isinstance(error, (FileExistsError, NotADirectoryError)):
        return f"{error.filename} is a file, not a folder"
    return error.strerror or str(error)


def _failure_message(error: BaseException) -> str:
    """A connector's `ValueError` is its reason in words; anything else is named by its type."""
    try:
        text = str(error)
    except Exception:  # noqa: BLE001 - an exception whose message itself raises
        text = ""
    if isinstance(error, ValueError) and text:
        return text[:MAX_MESSAGE]
    return (f"{type(error).__name__}: {text}" if text else type(error).__name__)[:MAX_MESSAGE]


def _finish_run(row: RunRow, context: AccountContext, status: str, message: str | None = None,
                trace: str | None = None) -> ConnectorRun:
    with transaction():
        row.status = status
        row.counts = msgspec.json.encode(context.counts).decode()
        rows = sorted(context.row_errors, key=lambda e: e.line)
        row.errors = msgspec.json.encode({"rows": rows, "message": message,
                                          "needs_attention": context.attention_list(),
                                          "log": context.lines[-200:],
                                          "traceback": trace}).decode()
        row.finished_at = utcnow()
        row.save()
        exported = context.exported if status == "succeeded" and not row.dry_run else []
        periods.record_exported(row.account_id, row.connector, row.id, exported)
        record = _run_record(row)
        emit(row.account_id, "connector_run", {"id": row.id, "connector": row.connector,
                                               "status": status, "counts": context.counts,
                                               "needs_attention": len(record.needs_attention),
                                               "dry_run": row.dry_run, "exported": exported})
    return record


def list_runs(account_id: int, connector_id: str | None = None,
              limit: int = 50) -> list[ConnectorRun]:
    """The account's connector runs, newest first."""
    query = RunRow.select().where(RunRow.account == account_id)
    if connector_id is not None:
        query = query.where(RunRow.connector == connector_id)
    return [_run_record(row) for row in query.order_by(RunRow.id.desc()).limit(limit)]
