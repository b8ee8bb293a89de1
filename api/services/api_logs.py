"""API logs: every request that presented a key, valid or not, for the admin to browse.

Entries are written behind the request by `ApiLogWriter`, a background thread
that inserts them in batches (the request never waits on the database) and
flushes everything it holds when closed, so a graceful stop loses none.
Refusals for being over a limit (429: a blocked address, a key past its window)
are aggregated: one row per client address, key and minute, whose `count` grows,
so a flood of refusals is seen without filling the disk. So are failed attempts from
a flood of addresses (the gate gives them the client `MANY_ADDRESSES`): one row per
status and minute, however many addresses take part.
A log never holds a key: not in the path, not in the query, not in any field,
however it was encoded (see `redact`).
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from operator import itemgetter
from urllib.parse import parse_qsl, unquote, urlencode

import msgspec

from tempclock.api.services import keys
from tempclock.api.services.common import transaction, utc
from tempclock.api.services.errors import Invalid
from tempclock.api.store import database, is_postgres, write_behind
from tempclock.api.store.models import ApiLog as ApiLogRow

log = logging.getLogger(__name__)

MAX_LIST = 10_000
REDACTED = "[redacted]"
MANY_ADDRESSES = "(many addresses)"  # the client of a failed-attempt flood's tally rows
# A key or what is left of one, however it was written: in any case, split by spaces,
# '+' or punctuation, or only the hex of its secret part (32 hex characters or more).
_KEY_SHAPED = re.compile(
    r"(?<![0-9a-z])tc[\W_]{0,3}(?:live|test)[\W_]{0,3}(?:[0-9a-z][\s+\-_.:,;\x00-\x1f\x7f]{0,3})*"
    r"|(?<![0-9a-f])[0-9a-f]{32,}",
    re.IGNORECASE,
)
_DECODING_ROUNDS = 4  # percent-encoding undone this many times over (double-encoded keys)
_KEYISH_NAME = re.compile(r"(^|_)(key|api_?key|token|access_?token|secret|password|auth"
                          r"|authorization)$", re.IGNORECASE)
_KEYISH_QUERY = re.compile(r"(^|[&;_])(key|api_?key|token|access_?token|secret|password|auth"
                           r"|authorization)=", re.IGNORECASE)
_combine = dt.datetime.combine
_HEX_RUN = re.compile(r"[0-9a-f]{32}", re.IGNORECASE)  # what `_KEY_SHAPED`'s hex part needs
_STATUS_FILTER = re.compile(r"([1-5])(xx|\d\d)", re.IGNORECASE)


class ApiLogEntry(msgspec.Struct, kw_only=True):
    """One request as it is recorded: who (account, key), what, how it ended."""

    created_at: dt.datetime
    account_id: int | None
    key_id: int | None
    key_name: str | None
    key_prefix: str | None
    method: str
    path: str
    query: str
    status: int
    duration_ms: float
    client: str
    user_agent: str
    request_id: str
    error_code: str | None
    count: int = 1  # requests the entry stands for (aggregated refusals)


class ApiLog(ApiLogEntry, kw_only=True):
    """A recorded entry, with its id."""

    id: int


def _decoded(text: str) -> str:
    """`text` with its percent-encoding undone (several times over) and its characters in
    their compatibility form (a full-width key is still a key)."""
    if "%" not in text and text.isascii():
        # Nothing to decode and ASCII is its own NFKC form: the same text, without the
        # unquote and normalize calls that cost every logged field ~1 us (bench/api_throughput.py).
        return text
    for _ in range(_DECODING_ROUNDS):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return unicodedata.normalize("NFKC", text)


def _may_hold_key(plain: str) -> bool:
    """False only when `_KEY_SHAPED` cannot match `plain` (decoded text): a match holds
    'tc' then 'live' or 'test', or 32 hex digits in a row. Three substring tests instead of
    the regex for the short ASCII fields most requests log (path, query, client; about half
    of each row's cost in the log writer: bench/api_throughput.py). Non-ASCII text goes to
    the regex: case-insensitive matching folds letters such as 'ſ' and 'K' to ASCII ones."""
    if len(plain) >= 32 or not plain.isascii():
        return True
    folded = plain.lower()
    return "tc" in folded and ("live" in folded or "test" in folded)


def _key_shaped(text: str) -> bool:
    plain = _decoded(text)
    return _may_hold_key(plain) and _KEY_SHAPED.search(plain) is not None


def redact(text: str) -> str:
    """`text` with everything shaped like a key replaced by `[redacted]`.

    Looked for after percent-decoding, in any letter case: a text that holds a key only
    in an encoded form is kept decoded, with the key replaced.
    """
    if not text:
        return text
    plain = _decoded(text)
    if not _may_hold_key(plain) or _KEY_SHAPED.search(plain) is None:
        return text
    return _KEY_SHAPED.sub(REDACTED, plain)


def redact_query(query: str) -> str:
    """The query string without its key, token or secret parameters (by name) and without
    any parameter whose name or value is shaped like a key (however it was encoded)."""
    if not query:
        return query
    plain = _decoded(query)
    if not (_KEYISH_QUERY.search(plain)
            or (_may_hold_key(plain) and _KEY_SHAPED.search(plain))):
        return query
    kept = [
        (name, value)
        for name, value in parse_qsl(query, keep_blank_values=True)
        if not _KEYISH_NAME.search(_decoded(name)) and not _key_shaped(name)
        and not _key_shaped(value)
    ]
    return redact(urlencode(kept))


def redact_path(path: str) -> str:
    """The path with any key-looking part replaced (a key pasted into a URL by mistake)."""
    return redact(path)


def _row_holds_no_key(texts: tuple[str, ...]) -> bool:
    """True only when none of `texts` can be changed by redaction: all ASCII without '%'
    (so each is its own decoded form), no 'tc' along with 'live' or 'test' anywhere, no 32
    hex digits in a row (none in a text shorter than that). Each of `_KEY_SHAPED`'s matches
    needs one of those within its text, so within the texts joined too. One test a row
    rather than one redaction a field: ~20k fewer instructions a request
    (bench/api_instructions.py)."""
    joined = "\n".join(texts)
    if "%" in joined or not joined.isascii():
        return False
    folded = joined.lower()
    if "tc" in folded and ("live" in folded or "test" in folded):
        return False
    return max(map(len, texts)) < 32 or _HEX_RUN.search(joined) is None


def _names_a_secret(query: str) -> bool:
    """Whether an ASCII query has a key, token or secret parameter (`_KEYISH_QUERY`).

    Each name that pattern looks for holds "key", "token", "secret", "password" or "auth",
    in any letter case (for ASCII text, `lower` folds case as the pattern's IGNORECASE
    does), so those are looked for first: five substring tests cost a fifth of the search, ~2.5k instructions
    a row fewer for the log writer (bench/api_instructions.py).
    """
    folded = query.lower()
    return (("key" in folded or "token" in folded or "secret" in folded
             or "password" in folded or "auth" in folded)
            and _KEYISH_QUERY.search(query) is not None)


def _logged_texts(e: ApiLogEntry) -> tuple[str | None, ...]:
    """The entry's key name, method, path, query, client, user agent and error code, as
    logged: each redacted (the query by parameter, see `redact_query`)."""
    if (_row_holds_no_key((e.key_name or "", e.method, e.path, e.query, e.client,
                           e.user_agent, e.error_code or ""))
            and not _names_a_secret(e.query)):  # ASCII, as _row_holds_no_key found
        return e.key_name, e.method, e.path, e.query, e.client, e.user_agent, e.error_code
    return (e.key_name and redact(e.key_name), redact(e.method), redact_path(e.path),
            redact_query(e.query), redact(e.client), redact(e.user_agent),
            e.error_code and redact(e.error_code))


_COLUMNS = (
    ApiLogRow.created_at, ApiLogRow.account, ApiLogRow.key, ApiLogRow.key_name,
    ApiLogRow.key_prefix, ApiLogRow.method, ApiLogRow.path, ApiLogRow.query, ApiLogRow.status,
    ApiLogRow.duration_ms, ApiLogRow.client, ApiLogRow.user_agent, ApiLogRow.request_id,
    ApiLogRow.error_code, ApiLogRow.count,
)


# The text of the last second `_stamp` formatted on SQLite: the rows of a batch come from
# a second or two, and formatting each row's whole time (isoformat: PyUnicode_FromFormat)
# cost ~9k instructions a row (bench/api_instructions.py). One pair, replaced whole.
_last_second: tuple[tuple[int, ...], str] = ((), "")


def _stamp(when: dt.datetime, postgres: bool) -> object:
    """`when` as the row's `created_at` value: naive UTC.

    On SQLite, the text sqlite3's own datetime adapter would store (`isoformat(" ")`),
    made here: binding a datetime makes the driver look its adapter up (~1.5 us a row),
    from the text of its second and its microseconds (nothing for a whole second). The
    gate's times are in UTC already.
    """
    global _last_second
    if when.tzinfo is not dt.UTC:
        when = when.astimezone(dt.UTC)
    if postgres:
        return _combine(when, when.time())  # naive: `replace` parses keywords, at 8x the cost
    second = (when.second, when.minute, when.hour, when.day, when.month, when.year)
    known, text = _last_second
    if known != second:
        text = _combine(when, when.time()).replace(microsecond=0).isoformat(" ")
        _last_second = (second, text)
    microsecond = when.microsecond
    return text + "." + str(1_000_000 + microsecond)[1:] if microsecond else text


_ROWS_PER_INSERT = 128
_insert_sql: dict[tuple[object, int], tuple[str, Callable[[tuple], tuple]]] = {}


def _insert_statement(rows: int) -> tuple[str, Callable[[tuple], tuple]]:
    """A multi-row INSERT for `rows` rows and what puts one row's values in its column
    order (an itemgetter: the reordering is one C call per row), built once.

    One statement per hundred rows rather than `executemany`: SQLite then inserts them
    all in one step with the GIL released once, where executemany hands the GIL back and
    forth with the event loop for every row (a third of a request's CPU went on that).
    Only powers of two up to `_ROWS_PER_INSERT` are asked for (see `_chunk_sizes`), so the
    few statements stay in the driver's cache instead of being parsed again every batch.
    """
    db = database.obj
    cached = _insert_sql.get((db, rows))
    if cached is None:
        # Number the values to learn the order peewee puts the columns in.
        sql, numbers = ApiLogRow.insert({c: n for n, c in enumerate(_COLUMNS)}).returning().sql()
        head, _, values = sql.partition(" VALUES ")
        cached = _insert_sql[(db, rows)] = (
            f"{head} VALUES {', '.join([values] * rows)}",
            itemgetter(*(int(float(n)) for n in numbers)))
    return cached


def _row(e: ApiLogEntry, postgres: bool) -> tuple[object, ...]:
    # Plain text and numbers go to the driver as they are; only the time needs its field.
    # Each text cut to its column (`x and x[:n]` keeps None), without a call per field.
    key_name, method, path, query, client, user_agent, error_code = _logged_texts(e)
    prefix = e.key_prefix
    return (
        _stamp(e.created_at, postgres),
        e.account_id,
        e.key_id,
        key_name and key_name[:100],
        prefix and prefix[:32],  # as listings show it: never more of the key
        method[:10],  # type: ignore[index]
        path[:500],  # type: ignore[index]
        query[:4000],  # type: ignore[index]
        e.status,
        round(e.duration_ms, 3),
        client[:64],  # type: ignore[index]
        user_agent[:300],  # type: ignore[index]
        e.request_id[:64],  # ours: 32 hex, never a key
        error_code and error_code[:50],
        e.count,
    )


def write_logs(entries: Sequence[ApiLogEntry]) -> int:
    """Insert a batch of entries in one transaction; returns how many were written."""
    if not entries:
        return 0
    postgres = is_postgres()
    rows = [_row(entry, postgres) for entry in entries]
    with transaction():
        cursor = database.obj.cursor()
        start = 0
        for size in _chunk_sizes(len(rows)):
            sql, in_order = _insert_statement(size)
            cursor.execute(sql, list(chain.from_iterable(map(in_order, rows[start:start + size]))))
            start += size
    return len(rows)


def _chunk_sizes(rows: int) -> list[int]:
    """`rows` split into full inserts of `_ROWS_PER_INSERT` and powers of two for the rest
    (a batch of 300: 128, 128, 32, 8, 4): a statement for every size of batch would cost
    SQLite a parse of the whole statement each time, ~20k instructions a row."""
    sizes = [_ROWS_PER_INSERT] * (rows // _ROWS_PER_INSERT)
    rest = rows % _ROWS_PER_INSERT
    return sizes + [1 << bit for bit in range(rest.bit_length() - 1, -1, -1) if rest >> bit & 1]


def aggregated(entry: ApiLogEntry) -> bool:
    """Whether an entry is kept as part of a tally: a refusal for being over a limit, or a
    failed attempt of a flood from many addresses."""
    return entry.status == 429 or entry.client == MANY_ADDRESSES


_TallyKey = tuple[dt.datetime, str, int | None, int]  # minute, client address, key id, status


class RefusalTally:
    """Aggregated refusals: one row per client address, key, status and minute, whose `count`
    grows as more arrive (the row is written with the first, raised with the rest).

    Remembers the rows of the last two minutes only, so a flood costs neither disk nor
    memory; a remembered row that is gone (a restore, say) is simply written again. A
    row is known by its id and its request id, so another row that took its id (in a
    restored store) is never counted up.
    """

    def __init__(self) -> None:
        self._rows: dict[_TallyKey, tuple[int, str]] = {}  # its row's id and request id

    def write(self, entries: Sequence[ApiLogEntry]) -> int:
        """Add a batch of refusals to their rows in one transaction; returns how many."""
        groups: dict[_TallyKey, tuple[ApiLogEntry, int]] = {}
        for entry in entries:
            minute = entry.created_at.replace(second=0, microsecond=0)
            tally_key = (minute, entry.client, entry.key_id, entry.status)
            first, count = groups.get(tally_key, (entry, 0))
            groups[tally_key] = (first, count + entry.count)
        if not groups:
            return 0
        with transaction():
            for tally_key, (first, count) in groups.items():
                self._add(tally_key, first, count)
        latest = max(tally_key[0] for tally_key in groups)
        self._rows = {k: v for k, v in self._rows.items()
                      if k[0] >= latest - dt.timedelta(minutes=1)}
        return len(entries)

    def _add(self, tally_key: _TallyKey, first: ApiLogEntry, count: int) -> None:
        known = self._rows.get(tally_key)
        if known is not None and (ApiLogRow
                                  .update(count=ApiLogRow.count + count)
                                  .where((ApiLogRow.id == known[0])
                                         & (ApiLogRow.request_id == known[1]))
                                  .execute()):
            return
        values = dict(zip(_COLUMNS, _row(msgspec.structs.replace(first, count=count),
                                         is_postgres()), strict=True))
        self._rows[tally_key] = (ApiLogRow.insert(values).execute(),
                                 values[ApiLogRow.request_id])


def _status_range(status: str) -> tuple[int, int]:
    match = _STATUS_FILTER.fullmatch(status.strip())
    if match is None:
        raise Invalid(f"Unknown status filter {status!r}: use a code such as 401 or a class "
                      "such as 4xx", field="status")
    if match.group(2).lower() == "xx":
        low = int(match.group(1)) * 100
        return low, low + 99
    code = int(status)
    return code, code


def list_logs(
    *,
    account_id: int | None = None,
    key_id: int | None = None,
    status: str | None = None,
    since: dt.datetime | None = None,
    limit: int = 100,
) -> list[ApiLog]:
    """Recorded requests, newest first. `status` is a code (`401`) or a class (`4xx`)."""
    if not 1 <= limit <= MAX_LIST:
        raise Invalid(f"limit must be between 1 and {MAX_LIST}", field="limit")
    query = ApiLogRow.select()
    if account_id is not None:
        query = query.where(ApiLogRow.account == account_id)
    if key_id is not None:
        query = query.where(ApiLogRow.key == key_id)
    if status is not None:
        low, high = _status_range(status)
        query = query.where(ApiLogRow.status.between(low, high))
    if since is not None:
        if since.tzinfo is not None:
            since = since.astimezone(dt.UTC).replace(tzinfo=None)
        query = query.where(ApiLogRow.created_at >= since)
    rows = query.order_by(ApiLogRow.id.desc()).limit(limit)
    return [record_of(row) for row in rows]


def record_of(row: ApiLogRow) -> ApiLog:
    """A stored log row as the record listings show."""
    return ApiLog(
        id=row.id,
        created_at=utc(row.created_at),
        account_id=row.account_id,
        key_id=row.key_id,
        key_name=row.key_name,
        key_prefix=row.key_prefix,
        method=row.method,
        path=row.path,
        query=row.query,
        status=row.status,
        duration_ms=row.duration_ms,
        client=row.client,
        user_agent=row.user_agent,
        request_id=row.request_id,
        error_code=row.error_code,
        count=row.count,
    )


_STOP = object()


class ApiLogWriter:
    """A background thread that writes log entries (and key `last_used_at`) in batches.

    `record` never blocks. Entries are written about `interval` seconds after the first
    of a batch arrives, `batch_size` rows per insert; `close` writes whatever is left
    before returning.
    `maintenance` callables (purging expired records, say) run every `maintenance_every`
    seconds. (Old logs are pruned by the dispatcher: `tempclock.api.services.retention`.)
    """

    def __init__(
        self,
        *,
        interval: float = 0.25,
        batch_size: int = 500,
        maintenance: Iterable[Callable[[], object]] = (),
        maintenance_every: float = 3600.0,
    ) -> None:
        self.interval = interval
        self.batch_size = batch_size
        self.maintenance = tuple(maintenance)
        self.maintenance_every = maintenance_every
        self.written = 0
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._tally = RefusalTally()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="api-log-writer",
                                                daemon=True)
                self._thread.start()

    def record(self, entry: ApiLogEntry) -> None:
        """Queue an entry for writing; returns at once."""
        self._queue.put(entry)

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(_STOP)
        thread.join(timeout)
        if thread.is_alive():
            log.error("API log writer did not finish within %.0f s", timeout)

    def _run(self) -> None:
        write_behind()  # logs are written behind the request: their commits need no sync
        next_maintenance = time.monotonic()
        stopping = False
        try:
            while not stopping:
                try:
                    first = self._queue.get(timeout=1.0)
                except queue.Empty:
                    first = None
                batch: list[ApiLogEntry] = []
                if first is _STOP:
                    stopping = True
                elif first is not None:
                    batch.append(first)
                    # Let a batch gather: nobody waits on the queue meanwhile, so recording
                    # an entry never wakes this thread.
                    time.sleep(self.interval)
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stopping = True
                    else:
                        batch.append(item)
                self._write(batch)
                if self.maintenance and time.monotonic() >= next_maintenance:
                    next_maintenance = time.monotonic() + self.maintenance_every
                    for task in self.maintenance:
                        try:
                            task()
                        except Exception:
                            log.exception("API log maintenance task %r failed", task)
        finally:
            if database.obj is not None and not database.is_closed():
                database.close()

    def _write(self, batch: list[ApiLogEntry]) -> None:
        plain = [entry for entry in batch if not aggregated(entry)]
        for start in range(0, len(plain), self.batch_size):
            self._retry(write_logs, plain[start:start + self.batch_size])
        if len(plain) < len(batch):
            self._retry(self._tally.write, [entry for entry in batch if aggregated(entry)])
        self._retry(keys.flush_key_usage)

    def _retry(self, write: Callable[..., int], *args: object) -> None:
        for attempt in range(1, 4):
            try:
                written = write(*args)
            except Exception:
                log.exception("API log writer: %s failed (attempt %d of 3)", write.__name__,
                              attempt)
                time.sleep(0.2 * attempt)
            else:
                if write is not keys.flush_key_usage:
                    self.written += written
                return
