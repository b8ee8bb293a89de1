"""Property: any worker table, saved as any CSV Excel writes, imports exactly; a re-import is a no-op."""

from __future__ import annotations

import csv
import io
import itertools
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tempclock.api.services import accounts, connectors, workers
from tempclock.plugins.ats_csv import AtsCsvImport

ATS = AtsCsvImport()
HEADERS = ["Employee Ref", "First Name", "Last Name", "Role"]
# Letters of names agencies see, and the punctuation that breaks naive CSV handling.
CP1252_LETTERS = string.ascii_letters + "éëüñöäåçàèáíóúôßøæÉÜÑÖÄÅÇØÆ"
PUNCTUATION = " ,;\"'-|."
EVERYWHERE_LETTERS = CP1252_LETTERS + "łșėążŁȘ"  # not in Windows-1252
ENCODINGS = {  # name → (bytes of the text, whether it can hold more than Windows-1252)
    "UTF-8": (lambda text: text.encode("utf-8"), True),
    "UTF-8 with BOM": (lambda text: text.encode("utf-8-sig"), True),
    "Windows-1252": (lambda text: text.encode("cp1252"), False),
    "UTF-16 LE with BOM": (lambda text: text.encode("utf-16"), True),  # Excel's "Unicode Text"
    "UTF-16 BE with BOM": (lambda text: ("\ufeff" + text).encode("utf-16-be"), True),
}
accounts_made = itertools.count()


def names(letters: str) -> st.SearchStrategy[str]:
    return st.text(letters + PUNCTUATION, min_size=1, max_size=24).filter(str.strip)


@st.composite
def exports(draw):
    """(worker table, file bytes, how it was written)."""
    encoding = draw(st.sampled_from(sorted(ENCODINGS)))
    encode, any_letter = ENCODINGS[encoding]
    name = names(EVERYWHERE_LETTERS if any_letter else CP1252_LETTERS)
    refs = draw(st.lists(st.text(string.ascii_uppercase + string.digits + "-/_", min_size=1,
                                 max_size=10), min_size=1, max_size=15, unique=True))
    table = [(ref, draw(name), draw(name), draw(st.none() | name)) for ref in refs]
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, lineterminator=newline)
    writer.writerow(HEADERS)
    writer.writerows([(ref, first, last, role or "") for ref, first, last, role in table])
    blank_end = draw(st.booleans())
    data = encode(text.getvalue() + (newline if blank_end else ""))
    return table, data, f"{encoding}, {delimiter!r}, {newline!r}, blank end: {blank_end}"


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(export=exports())
def test_any_table_in_any_excel_csv_imports_exactly_and_a_reimport_changes_nothing(
        store, tmp_path, export):
    table, data, written = export
    account = accounts.create_account(f"Agency {next(accounts_made)}")  # a fresh roster
    path = tmp_path / "export.csv"
    path.write_bytes(data)

    first = connectors.run_connector(account.id, ATS, overrides={"file": str(path)})
    assert (first.status, first.errors) == ("succeeded", []), (written, first.message)
    stored = {w.employee_ref: (w.first_name, w.last_name, w.role)
              for w in workers.list_workers(account.id, workers.WorkerFilter(limit=100)).data}
    assert stored == {ref: (first_name.strip(), last_name.strip(), (role or "").strip() or None)
                      for ref, first_name, last_name, role in table}, written

    again = connectors.run_connector(account.id, ATS, overrides={"file": str(path)})
    assert again.counts == {"unchanged": len(table), "rows": len(table)}, written
