"""Reading an export file into a table of rows, whichever way Excel or an ATS wrote it.

Agencies send every variant Excel can save: UTF-8 with or without a byte-order
mark, Windows-1252, UTF-16 ("Unicode Text"); comma, semicolon or tab separated;
CRLF line ends, a `sep=;` first line, quoted cells that span lines, blank lines at
the end. `read_table` goes through one named step per question:

    read_file → decode → detect_dialect → parse_rows

A row that holds bytes the file's encoding cannot read is kept as `undecodable`
(the importer reports it and leaves its worker alone); the file is never decoded
by a guess that would turn every other accented name into garbage.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import itertools
import re
import stat
from collections.abc import Callable
from pathlib import Path

MAX_BYTES = 256 * 1024 * 1024  # far above any ATS export; stops a wrong file filling memory
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
BYTE_ORDER_MARKS = (  # (mark, codec, name); UTF-32 before UTF-16, whose LE mark it starts with
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 BE"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
)
HEADER_SEARCH = 10  # opening non-blank lines in which the header is looked for
UTF16_SAMPLE = 4096  # bytes looked at to recognise UTF-16 written without a byte-order mark
WORKBOOK_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx (zip), .xls (OLE)
# Bytes the decoder could not read become lone surrogates (the "surrogateescape" handler).
_UNDECODED = re.compile("[\udc80-\udcff]")
_NON_ASCII_TEXT = re.compile("[^\x00-\x7f\udc80-\udcff]")
_LINE_END = re.compile(r"\r\n|\r|\n")
_SEP_LINE = re.compile(r'"?sep=(.)"?', re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Decoded:
    """A file's text, the encoding it was read in, and whether some bytes were unreadable."""

    text: str
    encoding: str  # as people name it: "UTF-8", "Windows-1252", "UTF-16 LE"
    byte_order_mark: bool = False
    damaged: bool = False

    def describe(self) -> str:
        """The encoding as the run log says it."""
        return self.encoding + (" with byte-order mark" if self.byte_order_mark else "")


@dataclasses.dataclass(frozen=True)
class Dialect:
    """How the rows are written: the delimiter, an Excel `sep=` line, where the header is."""

    delimiter: str
    sep_line: bool = False
    header_line: int = 1  # the line the header is on; lines above it (a title) are skipped


@dataclasses.dataclass(frozen=True)
class Row:
    """One non-blank record: the line it starts on and its cells."""

    line: int
    cells: list[str]
    undecodable: bool = False  # holds bytes the file's encoding cannot read


@dataclasses.dataclass(frozen=True)
class Table:
    """An export file read into a header and rows."""

    headers: list[str]
    rows: list[Row]
    decoded: Decoded
    dialect: Dialect

    @property
    def delimiter_name(self) -> str:
        """The delimiter as the run log says it."""
        return DELIMITERS.get(self.dialect.delimiter, repr(self.dialect.delimiter))


def read_table(path: Path, known_header: Callable[[str], bool]) -> Table:
    """Read an export into a table; `known_header` tells the header line's delimiter apart.

    Raises ValueError, in words an office admin can act on, for a file that is
    missing, unreadable, not text, or whose CSV cannot be parsed.
    """
    decoded = decode(read_file(path))
    dialect = detect_dialect(decoded.text, known_header)
    headers, rows = parse_rows(decoded, dialect)
    return Table(headers, rows, decoded, dialect)


def read_file(path: Path) -> bytes:
    """The file's bytes, refusing what is not a readable, non-empty regular file."""
    try:
        info = path.stat()
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            raise ValueError(f"{path} is a folder, not a CSV file")
        if not stat.S_ISREG(mode):
            raise ValueError(f"{path} is not a regular file")
        if info.st_size > MAX_BYTES:
            raise ValueError(f"{path} is larger than {MAX_BYTES // 2**20} MB: not an ATS export")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"No such file: {path}") from None
    except OSError as error:
        raise ValueError(f"Cannot read {path}: {error.strerror or error}") from None
    if not raw.strip():
        raise ValueError(f"{path.name} is empty")
    return raw


def decode(raw: bytes) -> Decoded:
    """The file's text: a byte-order mark decides; else UTF-16 if it looks so; else UTF-8;
    else Windows-1252.

    Only when strict UTF-8 fails is the file looked at more closely (see
    `_decode_unmarked`), so a clean file costs one decode.
    """
    if raw.startswith(WORKBOOK_SIGNATURES):
        raise ValueError("This is an Excel workbook, not a CSV file: in Excel choose "
                         "File > Save As > CSV UTF-8, and import that file")
    for mark, codec, name in BYTE_ORDER_MARKS:
        if raw.startswith(mark):
            decoded = _decode_marked(raw[len(mark):], codec, name)
            break
    else:
        decoded = _decode_utf16_unmarked(raw) or _decode_unmarked(raw)
    text = decoded.text.rstrip("\x00")  # some systems pad a file with NULs to a block's end
    if "\x00" in text:
        line = 1 + len(_LINE_END.findall(text, 0, text.index("\x00")))
        raise ValueError(f"line {line} holds a NUL byte: this is not a text (CSV) file as "
                         "Excel saves it; save it again as CSV UTF-8 (nothing was imported)")
    return dataclasses.replace(decoded, text=text)


def _decode_marked(raw: bytes, codec: str, name: str) -> Decoded:
    if codec == "utf-8":
        unmarked = _decode_unmarked(raw, cp1252_allowed=False)
        return Decoded(unmarked.text, name, byte_order_mark=True, damaged=unmarked.damaged)
    return _decode_strictly(raw, codec, name, byte_order_mark=True)


def _decode_strictly(raw: bytes, codec: str, name: str, *, byte_order_mark: bool) -> Decoded:
    try:
        return Decoded(raw.decode(codec), name, byte_order_mark=byte_order_mark)
    except UnicodeDecodeError as error:
        raise ValueError(f"The file reads as {name} but byte {error.start} is not valid "
                         f"{name}; save it again from Excel") from None


def _decode_utf16_unmarked(raw: bytes) -> Decoded | None:
    """UTF-16 without a mark: mostly-Latin text has a NUL in (nearly) every other byte only."""
    sample = raw[:UTF16_SAMPLE] if len(raw) % 2 == 0 else b""
    for codec, name, high, low in (("utf-16-le", "UTF-16 LE", sample[1::2], sample[::2]),
                                   ("utf-16-be", "UTF-16 BE", sample[::2], sample[1::2])):
        if sample and high.count(0) >= 0.7 * len(high) and low.count(0) <= 0.05 * len(low):
            return _decode_strictly(raw, codec, name, byte_order_mark=False)
    return None


def _decode_unmarked(raw: bytes, *, cp1252_allowed: bool = True) -> Decoded:
    """Strict UTF-8; failing that, UTF-8 with bad rows if any valid non-ASCII UTF-8 is there.

    A file in which no byte sequence is valid non-ASCII UTF-8 is Windows-1252 (Excel
    on Windows). Unreadable bytes are kept as lone surrogates so the rows holding
    them can be reported and skipped.
    """
    try:
        return Decoded(raw.decode("utf-8"), "UTF-8")
    except UnicodeDecodeError:
        pass
    text = raw.decode("utf-8", "surrogateescape")
    if not cp1252_allowed or _NON_ASCII_TEXT.search(text):
        return Decoded(text, "UTF-8", damaged=True)
    text = raw.decode("cp1252", "surrogateescape")  # five bytes cp1252 leaves undefined
    return Decoded(text, "Windows-1252", damaged=_UNDECODED.search(text) is not None)


def detect_dialect(text: str, known_header: Callable[[str], bool]) -> Dialect:
    """The header line, and the delimiter that splits it into the most known headers.

    The header is the first of the opening non-blank lines with the most known
    headers, so a report title or a note above it is passed over. An Excel `sep=;`
    first line decides the delimiter by itself. The data rows are not looked at: a
    semicolon file whose cells hold commas is still a semicolon file.
    """
    lines = enumerate(io.StringIO(text, newline=""), start=1)
    _, first = next(lines, (1, ""))
    sep = _SEP_LINE.fullmatch(first.rstrip("\r\n").strip(" "))
    delimiters = (sep.group(1),) if sep else tuple(DELIMITERS)
    opening = itertools.chain(() if sep else ((1, first),), lines)
    candidates = list(itertools.islice(((n, line) for n, line in opening if line.strip()),
                                       HEADER_SEARCH)) or [(1 + bool(sep), "")]

    def score(line: str, delimiter: str) -> tuple[int, int]:
        try:
            cells = next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])
        except csv.Error:  # parse_rows reports it with its line
            return (0, 0)
        return (sum(1 for cell in cells if known_header(cell)),
                sum(1 for cell in cells if cell.strip()))

    header_line, header = max(candidates,  # ties: the first line
                              key=lambda c: max(score(c[1], d)[0] for d in delimiters))
    delimiter = max(delimiters, key=lambda d: score(header, d))  # ties: the first (comma)
    return Dialect(delimiter, sep_line=sep is not None, header_line=header_line)


def parse_rows(decoded: Decoded, dialect: Dialect) -> tuple[list[str], list[Row]]:
    """The header and every non-blank row below it, each with the line it starts on.

    Raises ValueError for a header that cannot be decoded, a file with no header,
    or broken quoting (a quote never closed would otherwise swallow the rest).
    """
    reader = csv.reader(io.StringIO(decoded.text, newline=""), delimiter=dialect.delimiter,
                        strict=True)
    rows: list[Row] = []
    headers: list[str] | None = None
    last_line = 0
    try:
        for cells in reader:
            start, last_line = last_line + 1, reader.line_num
            if start < dialect.header_line or not any(cell.strip() for cell in cells):
                continue
            undecodable = decoded.damaged and _UNDECODED.search("".join(cells)) is not None
            if headers is None:
                _check_header(start, undecodable, decoded)
                headers = cells
            else:
                rows.append(Row(start, cells, undecodable))
    except csv.Error as error:
        raise ValueError(f"line {last_line + 1} cannot be read as CSV ({error}; is a quote "
                         "left open?): nothing was imported") from None
    if headers is None:
        raise ValueError("The file has no header line")
    return headers, rows


def _check_header(line: int, undecodable: bool, decoded: Decoded) -> None:
    if undecodable:
        raise ValueError(f"line {line} (the header) is not valid {decoded.encoding}: "
                         "save the file again as CSV UTF-8")


def undecoded_cell(cell: str) -> bool:
    """Whether a cell holds bytes its file's encoding could not read."""
    return _UNDECODED.search(cell) is not None
