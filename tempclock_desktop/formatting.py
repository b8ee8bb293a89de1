"""How values read on screen (Qt-free): times in the admin's zone or a site's, hours, statuses."""

from __future__ import annotations

import datetime as dt
import zoneinfo


def local(value: dt.datetime | None, tz: zoneinfo.ZoneInfo | None = None) -> dt.datetime | None:
    """An aware UTC datetime in `tz` (the computer's own zone when None)."""
    if value is None:
        return None
    return value.astimezone(tz) if tz is not None else value.astimezone()


def when(value: dt.datetime | None, tz: zoneinfo.ZoneInfo | None = None,
         empty: str = "—") -> str:
    """`2026-03-10 07:02`, or `empty` for no value."""
    moment = local(value, tz)
    return empty if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def when_short(value: dt.datetime | None, tz: zoneinfo.ZoneInfo | None = None,
               empty: str = "—") -> str:
    """`Tue 10 Mar 07:02`: for lists already narrowed to a few weeks."""
    moment = local(value, tz)
    return empty if moment is None else moment.strftime("%a %d %b %H:%M")


def when_precise(value: dt.datetime | None) -> str:
    moment = local(value)
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def clock(value: dt.datetime | None, tz: zoneinfo.ZoneInfo | None = None) -> str:
    moment = local(value, tz)
    return "" if moment is None else moment.strftime("%H:%M")


def day(value: dt.date | None) -> str:
    return "—" if value is None else value.strftime("%a %d %b %Y")


def hours(value: float | None, style: str = "decimal") -> str:
    """Worked hours as the admin chose to read them: `7 h 22 min` ("minutes") or `7.37 h`
    ("decimal"); the same everywhere hours show."""
    if value is None:
        return ""
    if style == "minutes":
        minutes = round(value * 60)
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{value:.2f} h"


def duration_ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def since(value: dt.datetime, now: dt.datetime | None = None) -> str:
    """How long ago, briefly: `2 h 05 min`."""
    now = now or dt.datetime.now(dt.UTC)
    minutes = max(0, int((now - value).total_seconds() // 60))
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def yes_no(value: bool | None) -> str:
    return "" if value is None else ("Yes" if value else "No")
