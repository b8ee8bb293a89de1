"""Employee references: which worker a row names, however the file writes it.

A reference is a worker's identity from one import to the next, and a file may
write it a little differently from the way TempClock holds it: in another case
(`ab1` / `AB1`), in full-width characters, or with an invisible character pasted
in (a zero-width space, a byte-order mark). Such a row is never taken for a new
worker, and its worker is never deactivated as missing: the row is reported for
the admin to correct. Two rows naming one worker are likewise reported. A
reference holding bytes the file's encoding cannot read may name anyone: with one
in the file, nobody is deactivated as missing.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable


def reference_key(ref: str) -> str:
    """A reference as a person reads it: compatibility-normalised, case-folded, and
    without blanks or invisible (format) characters."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", ref).casefold()
                   if not ch.isspace() and unicodedata.category(ch) != "Cf")


class References:
    """The references one run meets: the file's (with the line of each) and the stored."""

    def __init__(self, stored: Iterable[str]) -> None:
        self.stored = set(stored)
        self.present: dict[str, int] = {}  # reference → the first line naming its worker
        self.written: dict[str, str] = {}  # reference key → the reference as first written
        self.unreadable: list[int] = []  # lines whose reference cannot be read

    @functools.cached_property
    def stored_by_key(self) -> dict[str, str]:
        """Stored references by key (worked out once a file names a reference not stored)."""
        return {reference_key(ref): ref for ref in self.stored}

    def note(self, ref: str, line: int) -> str | None:
        """Record that `line` names `ref`; why the row cannot be imported, or None.

        Whatever the answer, the worker the row names now counts as present.
        """
        key = reference_key(ref)
        earlier = self.written.get(key)
        if ref in self.present or (earlier is not None and not {ref, earlier} <= self.stored):
            as_written = "" if earlier in (None, ref) else f" as {earlier!r}"
            return (f"employee reference {ref!r} already appears on line "
                    f"{self.present.get(ref) or self.present[earlier]}{as_written}")
        self.written.setdefault(key, ref)
        self.present[ref] = line
        if ref in self.stored:
            return None
        stored = self.stored_by_key.get(key)
        if stored is None:
            return None
        self.present.setdefault(stored, line)
        return (f"employee reference {ref!r} differs from worker {stored!r} only in case, "
                "width or an invisible character: correct it in the file or in TempClock")

    def note_unreadable(self, line: int) -> None:
        """Record that `line` names a reference holding bytes the encoding cannot read."""
        self.unreadable.append(line)
