"""How controllers declare endpoints: paths in both styles, scopes, envelopes, query structs.

Every endpoint answers on its clean path and its TempClock `.php` path; each gets
an `operation_id` (distinct per path, as OpenAPI requires), the scope it needs in
its `opt` (checked before the handler gets its `identity`), the error responses it can give in
the OpenAPI document, and runs synchronously on a worker thread (peewee keeps one
connection per thread).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import inspect
import queue
import threading
import time
import typing
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar import Request, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter
from litestar.types import Method, Scope

from tempclock.api.http.errors import error_responses
from tempclock.api.services import keys
from tempclock.api.services.common import MAX_LIMIT, Page, reads_are_local, transaction
from tempclock.api.services.errors import Unauthenticated

T = TypeVar("T")
Query = NamedDependency
"""A filter struct read from the query string: a handler taking `params: Query[F]` is
documented with the fields of F as query parameters and gets them as one F."""
S = TypeVar("S", bound=msgspec.Struct)

MAX_ID = 2**63 - 1  # the largest id the store can hold


# --- envelopes ---------------------------------------------------------------------


class One(msgspec.Struct, Generic[T]):
    """One object: `{"data": {...}}`."""

    data: T


class WithMessage(msgspec.Struct, Generic[T]):
    """An object a request created or changed, with a message for people (201 on create)."""

    data: T
    message: str


def one_or_page(
    params: Any,
    get_one: Callable[[int], T],
    get_page: Callable[[Any], Page[T]],
) -> Page[T] | One[T]:
    """`?id=N` answers one object (404 if it is not in the account); otherwise a page."""
    if params.id is not None:
        return One(get_one(params.id))
    return get_page(params)


# --- who is asking -------------------------------------------------------------------

Identity = NamedDependency[keys.KeyIdentity]
"""The verified key a request speaks for (handlers take `identity: Identity`)."""


def identity_of(scope: Scope, needed: str) -> keys.KeyIdentity:
    """The verified key of this request, checked for the scope its route needs.

    The gate verified the key and left it in the ASGI scope; `endpoint` hands it to
    the handler's `identity` parameter after this check (so no route skips it). Not a
    Litestar dependency or guard: those build a request object or copy the route
    handler on every call, which cost more than the rest of the check.
    """
    context = scope.get("tempclock")
    identity = getattr(context, "identity", None)
    if identity is None:  # only when the app is served without its gate
        raise Unauthenticated("Missing API key", code="key_missing")
    keys.require_scope(identity, needed)
    return identity


async def check_scope(request: Request) -> None:
    """Refuse a key without the route's scope before its parameters or body are read.

    A `before_request` hook of the API router, so a key lacking the scope gets its 403
    whatever else is wrong with the request; the handler checks again when it takes
    its `identity`. Litestar's automatic OPTIONS route needs no scope: the gate has
    already authenticated it.
    """
    needed = request.route_handler.opt.get("scope")
    if needed is not None:
        identity_of(request.scope, needed)


# --- paths and operation ids ---------------------------------------------------------


def both_paths(name: str, *also: str) -> list[str]:
    """The clean path and the TempClock `.php` path of a resource (plus any aliases)."""
    return [f"/{name}", f"/{name}.php", *also]


def _operation_id(name: str) -> Callable[..., str]:
    def create(handler: Any, method: Method, components: Sequence[Any]) -> str:
        last = components[-1] if components else ""
        if isinstance(last, str) and last.endswith(".php"):
            return f"{name}_underscore_php" if "_" in last else f"{name}_php"
        return name

    return create


# --- query parameters from the services' filter structs -------------------------------

_DESCRIPTIONS = {
    "id": "Return this one object (`{\"data\": {...}}`) instead of a list.",
    "updated_since": "Only objects changed at or after this ISO-8601 time.",
    "after_id": "Keyset paging: only ids greater than this.",
    "limit": f"Page size, 1 to {MAX_LIMIT}.",
    "offset": "How many matching objects to skip.",
}
_BOUNDS: dict[str, dict[str, int]] = {
    "limit": {"ge": 1, "le": MAX_LIMIT},
    "offset": {"ge": 0, "le": 2**31 - 1},
    "after_id": {"ge": 0, "le": MAX_ID},
}


def _is_int(hint: Any) -> bool:
    return hint is int or int in getattr(hint, "__args__", ())


def _is_time(hint: Any) -> bool:
    return hint is dt.datetime or dt.datetime in getattr(hint, "__args__", ())


def iso_time(name: str, value: str) -> dt.datetime:
    """A time query parameter read as the ISO-8601 text API.md asks for, strictly.

    Litestar reads query values leniently, which would take `0.5` or `1700000000`
    for seconds since 1970; those are refused (400) naming the parameter.
    """
    try:
        return msgspec.convert(value, dt.datetime)
    except msgspec.ValidationError as error:
        raise ValidationException(extra=[{
            "message": "Expected an ISO-8601 date and time, e.g. 2026-03-01T08:00:00Z",
            "key": name, "source": "query"}]) from error


def query_parameters(struct: type[msgspec.Struct]) -> list[inspect.Parameter]:
    """The fields of a filter struct as query parameters of a handler's signature.

    Litestar documents each as a query parameter and refuses a bad value with a 400
    naming it; `endpoint` builds the struct from them for the handler's `params`.
    """
    parameters = []
    for field in msgspec.structs.fields(struct):
        hint = field.type
        constraints: dict[str, Any] = dict(_BOUNDS.get(field.name, {}))
        extra: dict[str, Any] | None = None
        if _is_int(hint):
            constraints.setdefault("le", MAX_ID)
            constraints.setdefault("ge", -MAX_ID)
        if _is_time(hint):  # read by `iso_time`, strictly
            hint, extra = str | None, {"format": "date-time"}
        description = _DESCRIPTIONS.get(field.name)
        # Litestar 2.25 leaves a bound of 0 out of the document (it tests the bound's truth).
        if constraints.get("ge") == 0:
            extra = {"minimum": 0}
        annotated = Annotated[hint, QueryParameter(name=field.name, description=description,
                                                   required=False, schema_extra=extra,
                                                   **constraints)]
        default = None if field.default is msgspec.NODEFAULT else field.default
        parameters.append(inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY,
                                            default=default, annotation=annotated))
    return parameters


# --- the endpoint decorator ----------------------------------------------------------

class HandlerThreads:
    """Threads that run sync handlers for the event loop (peewee keeps one connection per thread).

    A plain job queue and `call_soon_threadsafe`: the hop costs about half what
    `run_in_executor` costs (no concurrent.futures future to chain, no idle-thread
    bookkeeping), and this hop is on every request.
    """

    def __init__(self, count: int, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], asyncio.Future[Any]]] = (
            queue.SimpleQueue())
        self._count = count
        self._name = name
        self._started = False
        self._lock = threading.Lock()

    async def run(self, job: Callable[[], Any]) -> Any:
        """Run `job` on one of the threads and wait for its result (or exception)."""
        if not self._started:
            self._start()
        future = asyncio.get_running_loop().create_future()
        self._jobs.put((job, future))
        return await future

    def _start(self) -> None:
        with self._lock:
            if not self._started:
                for n in range(self._count):
                    threading.Thread(target=self._work, name=f"{self._name}-{n}",
                                     daemon=True).start()
                self._started = True

    def _work(self) -> None:
        while True:
            job, future = self._jobs.get()
            loop = future.get_loop()
            try:
                result = job()
            except BaseException as error:  # handed to the awaiting request
                loop.call_soon_threadsafe(_settle, future, None, error)
            else:
                loop.call_soon_threadsafe(_settle, future, result, None)


BUSY_S = 0.02  # writes closer than this (50 a second and more) wait to share a commit


class GroupCommit(HandlerThreads):
    """One thread runs the write handlers, many to a transaction (group commit).

    Writers no longer queue for SQLite's write lock one by one (its busy handler
    sleeps in growing steps) nor wait for an fsync each: the thread takes every job
    waiting, up to `batch`, runs them inside one transaction and commits once. Each
    service call still runs in its own savepoint, so a refused write undoes only
    itself; a response is released only after the commit that made it durable.
    """

    def __init__(self, name: str, batch: int = 64) -> None:
        super().__init__(1, name)
        self._batch = batch
        self.gather_s = 0.0  # how long the first write of a group waits for others to join
        self.busy_s = BUSY_S
        self.gathers = 0  # groups that waited (a lone write never does)
        self._last_group_end = float("-inf")

    def _work(self) -> None:
        while True:
            jobs = [self._jobs.get()]
            # Wait for company only while writes come close together (the last group ended
            # less than `busy_s` ago) and none has come yet: a lone punch, the usual case at
            # a site, goes at once, and so does a group that a backlog already fills.
            if (self.gather_s and self._jobs.empty()
                    and time.monotonic() - self._last_group_end < self.busy_s):
                self.gathers += 1
                time.sleep(self.gather_s)
            while len(jobs) < self._batch:
                try:
                    jobs.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
            try:
                with transaction():
                    for job, future in jobs:
                        try:
                            outcomes.append((future, job(), None))
                        except Exception as error:  # noqa: BLE001 - the request's own answer
                            outcomes.append((future, None, error))
            except BaseException as error:  # the commit failed: nothing of the batch is kept
                outcomes = [(future, None, error) for _, future in jobs]
            # One wake-up of each event loop for the whole group, not one per request.
            by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
            for outcome in outcomes:
                by_loop.setdefault(outcome[0].get_loop(), []).append(outcome)
            for loop, settled in by_loop.items():
                loop.call_soon_threadsafe(_settle_all, settled)
            self._last_group_end = time.monotonic()


def _settle_all(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in outcomes:
        _settle(future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():  # the client went away
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


# Reads and writes have their own threads: a write can wait for SQLite's write lock (another
# process may hold it), and reads must not queue behind it. Few read threads: under the GIL
# more only add contention. Writes go through one thread, committed in groups.
_read_threads = HandlerThreads(4, "api-read")
_write_threads = GroupCommit("api-write")
_DECORATORS = {"GET": get, "POST": post, "PUT": put, "PATCH": patch, "DELETE": delete}
_ALWAYS = (400, 401, 403, 429)


def endpoint(
    method: str,
    paths: str | list[str],
    *,
    operation_id: str,
    scope: str,
    summary: str,
    errors: Sequence[int] = (404,),
    responses: dict[int, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """Declare an API endpoint: run on a worker thread, scoped, with its error responses."""
    needed = scope
    route = _DECORATORS[method](
        paths,
        operation_id=_operation_id(operation_id),
        opt={"scope": scope},
        security=[{"bearer": [scope]}],  # the OpenAPI document names the scope it needs
        summary=summary,
        responses={**error_responses(*_ALWAYS, *errors), **(responses or {})},
        **kwargs,
    )

    def decorate(fn: Callable[..., Any]) -> Any:
        signature = inspect.signature(fn)
        if "identity" not in signature.parameters:
            raise TypeError(f"{fn.__qualname__}: an API endpoint takes `identity: Identity`, "
                            "which checks the scope of its route")
        struct: type[msgspec.Struct] | None = None
        fields: list[inspect.Parameter] = []
        if "params" in signature.parameters:
            struct = typing.get_args(typing.get_type_hints(fn, include_extras=True)["params"])[0]
            fields = query_parameters(struct)
        names = tuple(field.name for field in fields)
        times = tuple(field.name for field in msgspec.structs.fields(struct)
                      if _is_time(field.type)) if struct is not None else ()

        # Our own thread hop rather than `sync_to_thread=True`, which Litestar 2.25 applies
        # twice to a handler registered on several paths (and anyio's hop costs more).
        threads = _read_threads if method == "GET" else _write_threads
        reads_inline = method == "GET"

        @functools.wraps(fn)
        async def on_worker_thread(*args: Any, scope: Scope, **values: Any) -> Any:
            values["identity"] = identity_of(scope, needed)
            if struct is not None:
                for name in times:
                    if values[name] is not None:
                        values[name] = iso_time(name, values[name])
                values["params"] = struct(**{name: values.pop(name) for name in names})
            if reads_inline and reads_are_local():
                # A read of a local SQLite file is a bounded page of indexed rows, and in
                # WAL mode it never waits for a lock: answering it here costs about half
                # what the hop to a thread and back does.
                return fn(*args, **values)
            return await threads.run(functools.partial(fn, *args, **values))

        # Litestar sees the handler's parameters with `identity` swapped for the ASGI scope
        # (a reserved parameter it passes as it is) and `params` for the fields of its
        # struct: plain parameters cost a third less than a dependency reading them.
        replaced = ("identity", "params")
        on_worker_thread.__signature__ = signature.replace(parameters=[  # type: ignore[attr-defined]
            *(p for p in signature.parameters.values() if p.name not in replaced),
            *fields,
            inspect.Parameter("scope", inspect.Parameter.KEYWORD_ONLY, annotation=Scope),
        ])
        on_worker_thread.__annotations__ = {
            **{k: v for k, v in fn.__annotations__.items() if k not in replaced},
            **{field.name: field.annotation for field in fields},
            "scope": Scope,
        }
        return route(on_worker_thread)

    return decorate


async def run_read(job: Callable[[], T]) -> T:
    """Run a read for a handler outside `endpoint` (the kiosk's): inline on a local SQLite
    file, as `endpoint` does, else on the read threads."""
    if reads_are_local():
        return job()
    return await _read_threads.run(job)


def gather_writes(seconds: float) -> None:
    """Let the first write of each group commit wait `seconds` for others to join it (this
    process's writes; see `tempclock.api.http.kiosk_listener`)."""
    _write_threads.gather_s = seconds


async def run_write(job: Callable[[], T]) -> T:
    """Run a write for a handler outside `endpoint` on the write thread (group commit)."""
    return await _write_threads.run(job)
