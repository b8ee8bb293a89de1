"""Site kiosks: a per-site link whose token lets a worker clock by PIN at that site only.

- A link's token is random (`secrets.token_hex(24)`: 48 hex characters, the shape the
  API logs already redact) and kept only as its SHA-256; it is shown once, in the link's
  URL. A new link replaces the site's old one, and a revoked link stops working on the
  next request, in every process (nothing about links is cached).
- `punch` identifies the worker by PIN within the site's account (`pins`) and calls the
  clocking services, so every clocking rule, geofence mode, backdating limit, break rule
  and event applies unchanged (source `kiosk`, or `kiosk_offline` for a queued punch).
- 5 wrong PINs within 5 minutes lock that kiosk for 5 minutes (kept in the store, so
  every serving process agrees), right PINs between them or not.
- A queued punch carries its device time and an idempotency key: applied once whatever
  the retries; refused when older than the site's backdating window, and then listed for
  the admin (`refused_punches`). With it the page sends its clock (`device_now`), so a
  tablet whose clock is minutes out still has its punch recorded when it was made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from typing import Any

import msgspec
from peewee import JOIN

from tempclock.api.services import clocking, pins
from tempclock.api.services.clocking import Position
from tempclock.api.services.common import emit, fetch, transaction, utc, utcnow, zone
from tempclock.api.services.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    TooMany,
    Unauthenticated,
    Unprocessable,
)
from tempclock.api.services.timesheets import TimeEntry
from tempclock.api.store.models import Department as DepartmentRow
from tempclock.api.store.models import KioskLink as LinkRow
from tempclock.api.store.models import KioskPunch as PunchRow
from tempclock.api.store.models import Location as LocationRow
from tempclock.api.store.models import Worker as WorkerRow
from tempclock.api.store.models import WorkerPin as PinRow
from tempclock.api.store.prepared import Prepared

TOKEN_BYTES = 24
_TOKEN_SHAPE = re.compile(r"[0-9a-f]{48}")
WRONG_PINS_ALLOWED = 5
WRONG_PIN_WINDOW = dt.timedelta(minutes=5)
LOCKED_FOR = dt.timedelta(minutes=5)
MAX_KEY_LENGTH = 100
ACTIONS = ("clock_in", "clock_out", "break_start", "break_end")
# How the kiosk page describes a site's geofence mode (it sends a position unless "off").
GEOFENCE_OF_MODE = {"off": "off", "allow": "flag", "warn": "flag", "block": "refuse"}


class KioskLink(msgspec.Struct, kw_only=True):
    """A site's kiosk link as issued: the URL holds the token, shown this once."""

    url: str
    location_id: int
    created_at: dt.datetime


class KioskLinkInfo(msgspec.Struct, kw_only=True):
    """That a site has a kiosk link, and since when (never the token)."""

    location_id: int
    created_at: dt.datetime


class Site(msgspec.Struct, kw_only=True):
    """What the kiosk page shows before a PIN: the site, its clock and its geofence."""

    name: str
    time_zone: str
    now: dt.datetime
    geofence: str
    language: str


class PunchResult(msgspec.Struct, kw_only=True):
    """What the kiosk shows after a punch: whom it greets, what was done, and when."""

    first_name: str
    language: str
    action: str
    at: dt.datetime
    local_time: str
    offline: bool


class RefusedPunch(msgspec.Struct, kw_only=True):
    """A queued punch that was not applied, for the admin to follow up."""

    id: int
    location_id: int
    location_name: str
    worker_id: int | None
    worker_name: str | None
    action: str
    device_time: dt.datetime | None  # as the device's clock said
    received_at: dt.datetime
    code: str | None
    reason: str | None
    made_at: dt.datetime | None = None  # on the host's clock (device_now's correction)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- links ---------------------------------------------------------------------------


def create_link(account_id: int, location_id: int, base_url: str) -> KioskLink:
    """Issue the site's kiosk link (`<base_url>/kiosk/<token>`); the old one stops working."""
    token = secrets.token_hex(TOKEN_BYTES)
    now = utcnow()
    with transaction():
        location = fetch(LocationRow, account_id, location_id, "Location")
        LinkRow.delete().where(LinkRow.location == location.id).execute()
        LinkRow.create(account=account_id, location=location.id, token_hash=_token_hash(token),
                       created_at=now)
        emit(account_id, "kiosk_link_created", {"location_id": location.id})
    return KioskLink(url=f"{base_url.rstrip('/')}/kiosk/{token}", location_id=location.id,
                     created_at=utc(now))


def revoke_link(account_id: int, location_id: int) -> None:
    """Withdraw the site's kiosk link: its token gets 404 from the next request on."""
    with transaction():
        location = fetch(LocationRow, account_id, location_id, "Location")
        removed = LinkRow.delete().where(LinkRow.location == location.id).execute()
        if not removed:
            raise NotFound(f"Location {location.id} has no kiosk link", code="not_found")
        emit(account_id, "kiosk_link_revoked", {"location_id": location.id})


def link_info(account_id: int, location_id: int) -> KioskLinkInfo | None:
    """When the site's kiosk link was issued, or None when it has none."""
    location = fetch(LocationRow, account_id, location_id, "Location")
    row = LinkRow.get_or_none(LinkRow.location == location.id)
    return None if row is None else KioskLinkInfo(location_id=location.id,
                                                  created_at=utc(row.created_at))


def account_of_location(location_id: int) -> int:
    """The account a site belongs to (the admin's CLI names a site by id alone)."""
    row = LocationRow.get_or_none(LocationRow.id == location_id)
    if row is None:
        raise NotFound.of("Location", location_id)
    return row.account_id


# A token's link with its site as a clock action reads it (`clocking.LOCATION_COLUMNS`: the
# row's `id` is the site's), in one query; `punch` hands the site to the clocking services.
_link_of_hash = Prepared(
    lambda p: LinkRow.select(LinkRow.id.alias("link_id"), LinkRow.account, LinkRow.token_hash,
                             LinkRow.wrong_pins, LinkRow.wrong_pins_since, LinkRow.locked_until,
                             LocationRow.kiosk_language, *clocking.LOCATION_COLUMNS)
    .join(LocationRow)
    .where(LinkRow.token_hash == p.hash)
)


def _link(token: str) -> Any:
    """The link a token opens, with its site, or 404 (unknown, revoked, replaced, or not a
    token at all)."""
    if not isinstance(token, str) or _TOKEN_SHAPE.fullmatch(token) is None:
        raise NotFound("No such kiosk", code="kiosk_not_found")
    wanted = _token_hash(token)
    link = _link_of_hash.one(hash=wanted)
    if link is None or not hmac.compare_digest(link.token_hash, wanted):
        raise NotFound("No such kiosk", code="kiosk_not_found")
    return link


def check_token(token: str) -> None:
    """404 unless `token` opens a kiosk now (the page and its files are served only then)."""
    _link(token)


def site(token: str) -> Site:
    """The site a kiosk token belongs to, as the page shows it."""
    link = _link(token)
    return Site(name=link.name, time_zone=link.timezone, now=utc(utcnow()),
                geofence=GEOFENCE_OF_MODE.get(link.geofence_mode, "off"),
                language=link.kiosk_language)


# --- punches ---------------------------------------------------------------------------


class Punch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The body of `POST /kiosk/<token>/punch`."""

    pin: str
    action: str
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    device_time: dt.datetime | None = None
    device_now: dt.datetime | None = None  # the device's clock as it sent a queued punch
    idempotency_key: str | None = None


def punch(token: str, pin: str, action: str, *, latitude: float | None = None,
          longitude: float | None = None, accuracy_m: float | None = None,
          device_time: dt.datetime | None = None, device_now: dt.datetime | None = None,
          idempotency_key: str | None = None) -> PunchResult:
    """Clock the worker whose PIN this is at the kiosk's site; see the module docstring.

    A queued punch's `device_time` is read on the host's clock when the device also sends
    its clock as it sends the punch (`device_now`): a tablet's clock may be minutes out.

    Errors: 404 `kiosk_not_found`; 401 `wrong_pin`; 429 `kiosk_locked` (with
    `retry_after`); 422 `outside_backdating_window` for a queued punch too old; and
    the clocking rules' own (e.g. 409 `already_clocked_in`, 403 `geofence_refused`).
    """
    with transaction():
        link = _link(token)  # in the write transaction: the wrong-PIN count read is current
        _check_punch(action, device_time, device_now, idempotency_key)
        position = Position(latitude, longitude, accuracy_m)
        now = utcnow()
        _refuse_while_locked(link, now)
        worker = _worker_of_pin(link.account_id, pin)
        if worker is None:
            refusal: DomainError = _count_wrong_pin(link, now)
        else:
            # A right PIN does not wipe the count: whoever knows one PIN could otherwise
            # guess at the others' without end, four at a time.
            replayed = _replay(link, worker.id, action, device_time, idempotency_key)
            if replayed is not None:
                return replayed
            made = _on_host_clock(device_time, device_now, now)
            try:
                return _apply(link, worker, action, position, device_time, made,
                              idempotency_key)
            except DomainError as error:
                if device_time is not None:  # a queued punch: the admin must hear of it
                    _keep_refusal(link, worker.id, action, device_time, made, idempotency_key,
                                  error)
                refusal = error
    raise refusal  # after the commit that kept the count, the refusal or its event


def _check_punch(action: str, device_time: dt.datetime | None, device_now: dt.datetime | None,
                 key: str | None) -> None:
    if action not in ACTIONS:
        raise Invalid(f"Unknown action {action!r}; use one of: {', '.join(ACTIONS)}",
                      field="action", code="unknown_action")
    for field, moment in (("device_time", device_time), ("device_now", device_now)):
        if moment is not None and moment.tzinfo is None:
            raise Invalid(f"{field} needs its UTC offset (ISO 8601, e.g. "
                          "2026-03-10T07:02:00+00:00)", field=field)
    if device_time is not None and key is None:
        raise Invalid("A queued punch (device_time) needs its idempotency_key",
                      field="idempotency_key", code="missing_field")
    if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH and key.isprintable()):
        raise Invalid(f"idempotency_key must be 1 to {MAX_KEY_LENGTH} printable characters",
                      field="idempotency_key", code="invalid_idempotency_key")


def _refuse_while_locked(link: Any, now: dt.datetime) -> None:
    if link.locked_until is not None and link.locked_until > now:
        raise _locked(link.locked_until, now)


def _locked(until: dt.datetime, now: dt.datetime) -> TooMany:
    wait = max(1, int((until - now).total_seconds() + 0.999))
    return TooMany(f"Too many wrong PINs: this kiosk is locked for {(wait + 59) // 60} "
                   "minutes", code="kiosk_locked", retry_after=wait)


# The worker as a clock action reads it (`clocking.WORKER_COLUMNS`), found by PIN.
_worker_of_hash = Prepared(
    lambda p: PinRow.select(WorkerRow.preferred_language, *clocking.WORKER_COLUMNS)
    .join(WorkerRow)
    .join(DepartmentRow, JOIN.LEFT_OUTER)
    .where((PinRow.account == p.account) & (PinRow.pin_hash == p.hash))
)


def _worker_of_pin(account_id: int, pin: object) -> Any:
    """The account's worker with this PIN, or None (a malformed PIN matches no one)."""
    try:
        pins.check_pin_shape(pin)
    except Invalid:
        return None
    return _worker_of_hash.one(account=account_id, hash=pins.pin_hash(account_id, str(pin)))


def _count_wrong_pin(link: Any, now: dt.datetime) -> DomainError:
    """Count a wrong PIN against the kiosk; the refusal to give (the lock at the fifth)."""
    fresh = link.wrong_pins_since is None or now - link.wrong_pins_since > WRONG_PIN_WINDOW
    count = 1 if fresh else link.wrong_pins + 1
    since = now if fresh else link.wrong_pins_since
    if count >= WRONG_PINS_ALLOWED:
        until = now + LOCKED_FOR
        (LinkRow.update(wrong_pins=0, wrong_pins_since=None, locked_until=until)
         .where(LinkRow.id == link.link_id).execute())
        return _locked(until, now)
    (LinkRow.update(wrong_pins=count, wrong_pins_since=since)
     .where(LinkRow.id == link.link_id).execute())
    return Unauthenticated("Wrong PIN", code="wrong_pin",
                           attempts_left=WRONG_PINS_ALLOWED - count)


def _replay(link: Any, worker_id: int, action: str, device_time: dt.datetime | None,
            key: str | None) -> PunchResult | None:
    """The first answer to the punch already sent with this key (a refusal is raised
    again). The key of another punch (another worker, action or device time) is refused,
    never answered with that punch's result: a device takes a 200 as its punch done."""
    if key is None:
        return None
    row = PunchRow.get_or_none((PunchRow.location == link.id)
                               & (PunchRow.idempotency_key == key))
    if row is None:
        return None
    if not _same_punch(row, worker_id, action, device_time):
        raise Invalid("This idempotency_key was already used for another punch",
                      field="idempotency_key", code="idempotency_key_reused")
    if row.outcome == "applied":
        return msgspec.json.decode(row.result, type=PunchResult)
    raise _stored_refusal(row)


def _same_punch(row: PunchRow, worker_id: int, action: str,
                device_time: dt.datetime | None) -> bool:
    """Whether a punch is the one kept under its key. A punch first sent live (no device
    time) is the same when the page queues it with its time after losing the answer."""
    return (row.worker_id == worker_id and row.action == action
            and (row.device_time is None or row.device_time == _naive(device_time)))


_ERROR_OF_KIND = {cls.kind.value: cls for cls in (Invalid, Forbidden, Conflict, NotFound,
                                                   Unprocessable)}


def _stored_refusal(row: PunchRow) -> DomainError:
    """The refusal a queued punch got the first time, to give again."""
    kind = msgspec.json.decode(row.result).get("kind")
    return _ERROR_OF_KIND.get(kind, Conflict)(row.reason or "This punch was refused",
                                              code=row.code)


OUTSIDE_WINDOW = "outside_backdating_window"


def _on_host_clock(device_time: dt.datetime | None, device_now: dt.datetime | None,
                  now: dt.datetime) -> dt.datetime | None:
    """When a queued punch was made, by the host's clock: its device time moved by how far
    the device's clock is from the host's as it sent it (network time aside)."""
    if device_time is None or device_now is None:
        return device_time
    return device_time + (now.replace(tzinfo=dt.UTC) - device_now)


def _apply(link: Any, worker: Any, action: str, position: Position,
           device_time: dt.datetime | None, made: dt.datetime | None,
           key: str | None) -> PunchResult:
    """Carry out the punch through the clocking services at `made` (its device time on the
    host's clock); keep it, with the device time it was sent with, when it came with a key."""
    if made is not None:
        _refuse_outside_window(link, made)
    entry = _clock(link, worker, action, position, made)
    at = _moment_of(entry, action)
    result = PunchResult(first_name=worker.first_name, language=worker.preferred_language,
                         action=action, at=at,
                         local_time=at.astimezone(zone(link.timezone)).strftime("%H:%M"),
                         offline=device_time is not None)
    if key is not None:
        PunchRow.create(account=link.account_id, location=link.id, worker=worker.id,
                        idempotency_key=key, action=action,
                        device_time=_naive(device_time), received_at=utcnow(),
                        outcome="applied", result=msgspec.json.encode(result).decode())
    return result


def _naive(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else moment.astimezone(dt.UTC).replace(tzinfo=None)


def _refuse_outside_window(link: Any, device_time: dt.datetime) -> None:
    if utcnow() - _naive(device_time) > dt.timedelta(hours=link.max_backdate_hours):
        raise Unprocessable(
            f"This punch was made more than {link.max_backdate_hours} hours ago, beyond "
            f"what {link.name} accepts; the office has been told", code=OUTSIDE_WINDOW)


def _clock(link: Any, worker: Any, action: str, position: Position,
           device_time: dt.datetime | None) -> TimeEntry:
    """The clock action, with the worker and the site as read with the PIN and the link."""
    account_id = link.account_id
    if action == "clock_in":
        return clocking.clock_in_at_site(account_id, worker, link, timestamp=device_time,
                                         position=position,
                                         source="kiosk_offline" if device_time else "kiosk")
    if action == "clock_out":
        return clocking.clock_out(account_id, worker.id, timestamp=device_time,
                                  position=position, site=link)
    if action == "break_start":
        return clocking.start_break(account_id, worker.id, timestamp=device_time, site=link)
    return clocking.end_break(account_id, worker.id, timestamp=device_time, site=link)


def _moment_of(entry: TimeEntry, action: str) -> dt.datetime:
    if action == "clock_in":
        return entry.clock_in
    if action == "clock_out":
        assert entry.clock_out is not None
        return entry.clock_out
    last = entry.breaks[-1]
    return last.start if action == "break_start" else last.end  # type: ignore[return-value]


def _keep_refusal(link: Any, worker_id: int, action: str, device_time: dt.datetime | None,
                  made: dt.datetime | None, key: str, error: DomainError) -> None:
    """Keep a refused keyed punch: a retry gets the same refusal, the admin sees it listed,
    with when it was made by the host's clock (`made_at`) beside what the device said (the
    row's `device_time`, as sent: a retry is compared with it)."""
    result = {"kind": error.kind.value, "made_at": None if made is None else made.astimezone(dt.UTC)}
    PunchRow.create(account=link.account_id, location=link.id, worker=worker_id,
                    idempotency_key=key, action=action, device_time=_naive(device_time),
                    received_at=utcnow(), outcome="refused", code=error.code,
                    reason=error.message, result=msgspec.json.encode(result).decode())


def _made_at(row: Any) -> dt.datetime | None:
    """When a refused punch was made by the host's clock (its device time for a row kept
    before that was recorded)."""
    made = msgspec.json.decode(row.result).get("made_at")
    return (msgspec.convert(made, dt.datetime) if made is not None
            else utc(row.device_time))


def refused_punches(account_id: int, limit: int = 100) -> list[RefusedPunch]:
    """Queued punches the host refused (newest first), for the admin to follow up."""
    rows = (PunchRow.select(PunchRow, LocationRow.name.alias("location_name"),
                            WorkerRow.first_name, WorkerRow.last_name)
            .join_from(PunchRow, LocationRow)
            .join_from(PunchRow, WorkerRow)
            .where((PunchRow.account == account_id) & (PunchRow.outcome == "refused"))
            .order_by(PunchRow.received_at.desc(), PunchRow.id.desc())
            .limit(limit)
            .objects())
    return [RefusedPunch(id=r.id, location_id=r.location_id, location_name=r.location_name,
                         worker_id=r.worker_id,
                         worker_name=f"{r.first_name} {r.last_name}" if r.worker_id else None,
                         action=r.action, device_time=utc(r.device_time),
                         made_at=_made_at(r), received_at=utc(r.received_at), code=r.code,
                         reason=r.reason)
            for r in rows]
