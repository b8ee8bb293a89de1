"""ATS import (CSV): workers and their assignments from an applicant-tracking-system export.

Upserts by employee reference. A run is a sequence of named steps:

    read the file (table.py: read_file → decode → detect_dialect → parse_rows)
    → match columns (columns.py) → parse rows (rows.py) → write batches
    → deactivate missing

Every bad row is reported with its line number and reason and left alone; the
good rows are imported. A dry run reports what would change and writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tempclock.plugins import Connector, ConnectorContext, Setting, hookimpl

from .columns import FIELDS, ColumnMatch, header_recogniser, match_columns, parse_mapping
from .references import References
from .rows import RowReader, parse_date
from .table import Row, Table, read_table, undecoded_cell

__all__ = ["FIELDS", "AtsCsvImport", "parse_date", "parse_mapping"]
__version__ = "1.1.0"

REPORT_CHANGES = 50  # changes listed one by one in the run log (all are counted)
REPORT_DEACTIVATIONS = 100  # likewise for workers deactivated as missing
BATCH = 500  # rows written together


class AtsCsvImport(Connector):
    """Creates and updates an account's workers from an ATS's CSV export."""

    id = "ats-csv"
    name = "ATS import (CSV)"
    kind = "ats"
    version = __version__
    description = ("Imports workers and their assignments from a CSV export of your ATS, "
                   "matching existing workers by employee reference.")
    capabilities = frozenset({"import_workers"})
    settings = (
        Setting("file", "CSV file", type="path", required=True,
                help="The export from your ATS: any CSV Excel saves (UTF-8, Windows or "
                     "Unicode text; comma, semicolon or tab)."),
        Setting("mapping", "Column mapping", type="text", default="",
                help="Only if the headers are unusual: field=Column Header; ... "
                     "Fields: " + ", ".join(FIELDS)),
        Setting("date_format", "Dates written as", type="choice", default="DD/MM/YYYY",
                choices=("DD/MM/YYYY", "MM/DD/YYYY"),
                help="For dates that are not YYYY-MM-DD."),
        Setting("create_departments", "Create missing departments", type="boolean",
                default=True),
        Setting("deactivate_missing", "Deactivate workers missing from the file",
                type="boolean", default=False,
                help="For a full export: anyone with an employee reference who is not in "
                     "the file is set inactive."),
        Setting("deactivate_despite_errors", "Deactivate even if some rows have errors",
                type="boolean", default=False,
                help="Normally a file with bad rows deactivates nobody, since it may be "
                     "incomplete."),
    )

    def run(self, context: ConnectorContext) -> None:
        """Import the file in the settings: read it, match columns, write rows, deactivate."""
        settings = context.settings
        path = Path(settings["file"]).expanduser()
        mapping = parse_mapping(settings["mapping"])
        table = read_table(path, header_recogniser(mapping))
        columns = match_columns(table.headers, mapping)
        log_what_was_read(context, path, table, columns)
        rows = RowImport(context, table, columns)
        rows.run()
        if settings["deactivate_missing"]:
            deactivate_missing(context, rows.references, rows.errors)
        context.progress(len(table.rows), len(table.rows), "done")


def log_what_was_read(context: ConnectorContext, path: Path, table: Table,
                      columns: ColumnMatch) -> None:
    """Say in the run log how the file was read and which columns were left out."""
    context.log(f"{len(table.rows)} rows in {path.name}; encoding: {table.decoded.describe()}; "
                f"delimiter: {table.delimiter_name}")
    if table.dialect.header_line > 1 + table.dialect.sep_line:
        context.log(f"header on line {table.dialect.header_line}; the lines above it are "
                    "not imported")
    context.log("columns: " + ", ".join(f"{name}←{table.headers[index]!r}"
                                        for name, index in columns.fields.items()))
    if columns.ignored:
        context.log("columns not imported: " + ", ".join(map(repr, columns.ignored)))


class RowImport:
    """One run's rows: parse each, write them in batches, remember every reference seen.

    A connector object is shared by every account, so a run's state lives here.
    """

    def __init__(self, context: ConnectorContext, table: Table, columns: ColumnMatch) -> None:
        self.context = context
        self.table = table
        self.reader = RowReader(context, columns.fields)
        self.references = References(worker["employee_ref"] for worker in context.workers()
                                     if worker.get("employee_ref"))
        self.errors = 0  # rows reported as not imported
        self.listed = 0  # changes listed in the log so far

    def run(self) -> None:
        """Parse every row and write the good ones in batches; bad rows are reported by line."""
        rows = self.table.rows
        batch: list[tuple[int, dict[str, Any]]] = []
        for done, row in enumerate(rows, start=1):
            fields = self.parse(row)
            if fields is not None:
                batch.append((row.line, fields))
            if len(batch) >= BATCH or done == len(rows):
                self.context.check_cancelled()
                self.write(batch)
                batch = []
                self.context.progress(done, len(rows), f"line {row.line}")
        self.context.count("rows", len(rows))

    def parse(self, row: Row) -> dict[str, Any] | None:
        """The worker fields of one row, or None when the row is reported as not imported.

        Its employee reference counts as present in the file whatever happens to the
        row, so a rejected row never makes its worker look "missing".
        """
        ref = self.reader.cell(row.cells, "employee_ref")
        if ref and undecoded_cell(ref):
            self.references.note_unreadable(row.line)
        elif ref:
            refused = self.references.note(ref, row.line)
            if refused:
                return self.reject(row.line, refused)
        if row.undecodable:
            return self.reject(row.line, f"not valid {self.table.decoded.encoding} (a character "
                                         "saved in another encoding?): row not imported")
        try:
            return self.reader.worker_fields(row.cells)
        except ValueError as error:
            return self.reject(row.line, str(error))

    def write(self, batch: list[tuple[int, dict[str, Any]]]) -> None:
        """Upsert a batch of workers; count each outcome and list the first changes in the log."""
        if not batch:
            return
        results = self.context.upsert_workers([fields for _, fields in batch])
        verb = "would be " if self.context.dry_run else ""
        for (line, fields), (outcome, error) in zip(batch, results, strict=True):
            if error is not None:
                self.reject(line, error)
                continue
            self.context.count(outcome)
            if outcome != "unchanged" and self.listed < REPORT_CHANGES:
                self.listed += 1
                self.context.log(f"line {line}: {fields['employee_ref']} {fields['first_name']} "
                                 f"{fields['last_name']} {verb}{outcome}")

    def reject(self, line: int, reason: str) -> None:
        """Report a row that is not imported."""
        self.context.row_error(line, reason)
        self.errors += 1


def deactivate_missing(context: ConnectorContext, references: References,
                       errors: int) -> None:
    """Set inactive every active worker whose employee reference is nowhere in the file.

    Skipped, with the reason for the admin's attention, when the file has no rows,
    has a reference that cannot be read, or has rows with errors and the admin has
    not chosen to deactivate despite errors.
    """
    reason = deactivation_refused(context, references, errors)
    if reason:
        context.needs_attention(f"Deactivation skipped: {reason}")
        return
    present = references.present
    missing = [worker for worker in context.workers(active=True)
               if worker.get("employee_ref") and worker["employee_ref"] not in present]
    context.check_cancelled()
    verb = "would be deactivated" if context.dry_run else "deactivated"
    for start in range(0, len(missing), BATCH):
        chunk = missing[start:start + BATCH]
        results = context.upsert_workers([{"employee_ref": worker["employee_ref"],
                                           "active": False} for worker in chunk])
        for number, (worker, (_, error)) in enumerate(zip(chunk, results, strict=True),
                                                      start=start + 1):
            who = f"{worker['employee_ref']} {worker['first_name']} {worker['last_name']}"
            if error is not None:
                context.needs_attention(f"{who} could not be deactivated: {error}")
                continue
            context.count("deactivated")
            if number <= REPORT_DEACTIVATIONS:
                context.log(f"{who} {verb} (not in the file)")
    if len(missing) > REPORT_DEACTIVATIONS:
        context.log(f"... and {len(missing) - REPORT_DEACTIVATIONS} more {verb}")


def deactivation_refused(context: ConnectorContext, references: References,
                         errors: int) -> str | None:
    """Why deactivating the missing would be unsafe for this file, or None."""
    if not references.present:
        return "the file has no rows with an employee reference (an empty export?)"
    if references.unreadable:
        lines = references.unreadable
        where = (f"line {lines[0]}" if len(lines) == 1
                 else f"{len(lines)} lines ({', '.join(map(str, lines[:10]))}...)")
        return (f"the employee reference on {where} cannot be read (a character saved in "
                "another encoding?), so who is missing cannot be known; save the file again "
                "as CSV UTF-8")
    if errors and not context.settings["deactivate_despite_errors"]:
        rows = "1 row has" if errors == 1 else f"{errors} rows have"
        return (f"{rows} errors, so the file may be incomplete; fix them, or set "
                "\"Deactivate even if some rows have errors\"")
    return None


@hookimpl
def register_connectors(register):
    register(AtsCsvImport())
