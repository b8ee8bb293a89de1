"""A realistic, deterministic demo data set for an agency, loaded through the services.

Seven client sites in five countries (real coordinates and zones), departments,
cost codes, 72 workers (no two with the same name), two weeks of shifts (day, late and
overnight) with their time entries and breaks, next week's rota, and a few workers
clocked in now. The same day always gives the same data.

Shifts start and end on the hour of the local rota; everything after that (clock-in,
breaks, clock-out) is reckoned in UTC from those instants, so a night across a clock
change lasts an hour less or more, as it does for the people working it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import unicodedata
import zoneinfo
from collections.abc import Callable

import msgspec

from tempclock.api.services import (
    clocking,
    cost_codes,
    departments,
    locations,
    shifts,
    timesheets,
    workers,
)
from tempclock.api.services.common import transaction, zone
from tempclock.api.services.errors import Conflict
from tempclock.api.store.models import Worker as WorkerRow
from tempclock.api.store.models import utcnow

SEED = 20_260_310

SITES = (
    # name, line1, city, postcode, country, lat, lon, zone, capacity, geofence mode
    ("Leeds Distribution Centre", "Thorpe Park Way 4", "Leeds", "LS15 8GB", "GB",
     53.8008, -1.4436, "Europe/London", 40, "warn"),
    ("Manchester Airport Logistics", "Ringway Road 12", "Manchester", "M90 3RA", "GB",
     53.3588, -2.2727, "Europe/London", 25, "allow"),
    ("Dublin Food Packing", "Naas Road 301", "Dublin", "D12 X2F3", "IE",
     53.3302, -6.3300, "Europe/Dublin", 20, "off"),
    ("Warsaw Fulfilment Hub", "ul. Annopol 3", "Warszawa", "03-236", "PL",
     52.3007, 21.0380, "Europe/Warsaw", 35, "block"),
    ("Poznań Cold Store", "ul. Gołężycka 14", "Poznań", "60-357", "PL",
     52.3851, 16.8565, "Europe/Warsaw", 15, "warn"),
    ("Bucharest Assembly Plant", "Bulevardul Iuliu Maniu 244", "București", "061126", "RO",
     44.4346, 26.0166, "Europe/Bucharest", 30, "allow"),
    ("Vilnius Parcel Centre", "Savanorių pr. 178", "Vilnius", "03154", "LT",
     54.6706, 25.2440, "Europe/Vilnius", 20, "off"),
)

DEPARTMENTS = ("Warehouse", "Drivers", "Cleaning", "Food Production", "Assembly", "Security")

COST_CODES = (
    # code, name, department
    ("WH-PICK", "Picking", "Warehouse"),
    ("WH-PACK", "Packing", "Warehouse"),
    ("DRV-LOC", "Local delivery", "Drivers"),
    ("CLN-NIGHT", "Night cleaning", "Cleaning"),
    ("FP-LINE", "Production line", "Food Production"),
    ("ASM-LINE", "Assembly line", "Assembly"),
    ("SEC-PATROL", "Site patrol", "Security"),
)

NAMES = {
    "en": (("Oliver", "Amelia", "Jack", "Isla", "Harry", "Ava", "George", "Mia", "Noah", "Grace"),
           ("Smith", "Jones", "Taylor", "Brown", "Walsh", "Murphy", "Evans", "Byrne", "Kelly",
            "Wilson")),
    "pl": (("Jakub", "Zuzanna", "Kacper", "Julia", "Szymon", "Maja", "Filip", "Hanna", "Antoni",
            "Lena"),
           ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Lewandowski", "Zieliński",
            "Szymański", "Dąbrowski", "Mazur")),
    "ro": (("Andrei", "Maria", "Ionuț", "Elena", "Mihai", "Ioana", "Alexandru", "Ana", "Cristian",
            "Gabriela"),
           ("Popescu", "Ionescu", "Popa", "Stan", "Dumitru", "Stoica", "Gheorghe", "Matei",
            "Ciobanu", "Rusu")),
    "lt": (("Lukas", "Emilija", "Matas", "Gabija", "Jonas", "Austėja", "Dominykas", "Ugnė",
            "Nojus", "Kamilė"),
           ("Kazlauskas", "Jankauskas", "Petrauskas", "Stankevičius", "Vasiliauskas", "Žukauskas",
            "Butkus", "Paulauskas", "Urbonas", "Kavaliauskas")),
}

# Which languages a site's workers mostly speak, and which departments work there.
SITE_STAFF = {
    0: (("en", "pl", "ro"), ("Warehouse", "Drivers", "Security")),
    1: (("en", "pl"), ("Warehouse", "Cleaning")),
    2: (("en", "pl", "lt"), ("Food Production", "Cleaning")),
    3: (("pl",), ("Warehouse", "Drivers")),
    4: (("pl",), ("Food Production", "Warehouse")),
    5: (("ro",), ("Assembly", "Security")),
    6: (("lt",), ("Warehouse", "Drivers")),
}

PATTERNS = {"day": (6, 8), "late": (14, 8), "night": (22, 8)}  # start hour, length in hours
WORKERS = 72
PAST_DAYS = 14
FUTURE_DAYS = 7


class DemoSummary(msgspec.Struct, kw_only=True):
    locations: int
    departments: int
    cost_codes: int
    workers: int
    shifts: int
    time_entries: int
    open_entries: int


Progress = Callable[[int, int, str], None]


def load_demo(account_id: int, *, progress: Progress | None = None) -> DemoSummary:
    """Fill an empty account with the demo agency. Refuses an account that has workers."""
    if WorkerRow.select().where(WorkerRow.account == account_id).exists():
        raise Conflict("This account already has workers; load demo data into an empty account",
                       code="account_not_empty")
    rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets
    now = utcnow().replace(second=0, microsecond=0, tzinfo=dt.UTC)
    report = progress or (lambda done, total, what: None)
    with transaction():
        site_ids, dept_ids, code_ids = _catalogue(account_id)
        report(1, 4, "sites and departments")
        staff = _workers(account_id, rng, site_ids, dept_ids)
        report(2, 4, "workers")
        counts = _rota(account_id, rng, now, staff, code_ids)
        # Two workers have left the agency: their history stays, they cannot clock in.
        for leaver in staff[-2:]:
            workers.deactivate_worker(account_id, leaver.worker_id)
        report(3, 4, "shifts and time entries")
    report(4, 4, "done")
    return DemoSummary(
        locations=len(site_ids),
        departments=len(dept_ids),
        cost_codes=sum(len(codes) for codes in code_ids.values()),
        workers=len(staff),
        **counts,
    )


def _catalogue(account_id: int) -> tuple[list[int], dict[str, int], dict[str, list[int]]]:
    site_ids = []
    for name, line1, city, postcode, country, lat, lon, tz, capacity, mode in SITES:
        site = locations.create_location(account_id, locations.LocationCreate(
            name=name, address_line1=line1, city=city, postcode=postcode, country=country,
            latitude=lat, longitude=lon, timezone=tz, capacity=capacity,
            settings=locations.LocationSettings(geofence_mode=mode, geofence_radius_m=250),
        ))
        site_ids.append(site.id)
    dept_ids = {
        name: departments.create_department(account_id,
                                            departments.DepartmentCreate(name=name)).id
        for name in DEPARTMENTS
    }
    code_ids: dict[str, list[int]] = {}
    for code, name, dept in COST_CODES:
        created = cost_codes.create_cost_code(account_id, cost_codes.CostCodeCreate(
            code=code, name=name, department_id=dept_ids[dept]))
        code_ids.setdefault(dept, []).append(created.id)
    return site_ids, dept_ids, code_ids


class _Staff(msgspec.Struct):
    worker_id: int
    site: int  # index into SITES
    location_id: int
    department: str
    pattern: str


def _name_pools(rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    """Every first and last name pairing of each language, shuffled: drawn without repeats."""
    pools = {}
    for language, (firsts, lasts) in NAMES.items():
        pool = list(itertools.product(firsts, lasts))
        rng.shuffle(pool)
        pools[language] = pool
    return pools


def _workers(account_id: int, rng: random.Random, site_ids: list[int],
             dept_ids: dict[str, int]) -> list[_Staff]:
    staff = []
    today = utcnow().date()
    names = _name_pools(rng)
    for n in range(WORKERS):
        site = n % len(SITES)
        languages, depts = SITE_STAFF[site]
        language = rng.choice(languages)
        first, last = names[language].pop()
        department = rng.choice(depts)
        ascii_last = unicodedata.normalize("NFKD", last.replace("ł", "l")).encode("ascii", "ignore")
        worker = workers.create_worker(account_id, workers.WorkerCreate(
            first_name=first,
            last_name=last,
            employee_ref=f"EMP-{1001 + n}",
            email=f"{first[0].lower()}.{ascii_last.decode().lower()}{n}@example.com",
            phone=f"+44 7700 9{n:05d}",
            role={"Drivers": "Driver", "Security": "Security officer"}.get(department,
                                                                          "Operative"),
            location_id=site_ids[site],
            department_id=dept_ids[department],
            preferred_language=language,
            assignment_starts_on=today - dt.timedelta(days=rng.randint(20, 200)),
            assignment_ends_on=(today + dt.timedelta(days=rng.randint(30, 120))
                                if rng.random() < 0.5 else None),
        ))
        pattern = ("night" if department in ("Cleaning", "Security")
                   else rng.choice(("day", "day", "late", "night")))
        staff.append(_Staff(worker.id, site, site_ids[site], department, pattern))
    return staff


def _rota(account_id: int, rng: random.Random, now: dt.datetime, staff: list[_Staff],
          code_ids: dict[str, list[int]]) -> dict[str, int]:
    counts = {"shifts": 0, "time_entries": 0, "open_entries": 0}
    active = staff[:-2]
    for member in staff:
        tz = zone(SITES[member.site][7])
        local_today = now.astimezone(tz).date()
        hour, length = PATTERNS[member.pattern]
        cost_code = rng.choice(code_ids[member.department])
        last_day = FUTURE_DAYS if member in active else -3
        for offset in range(-PAST_DAYS, last_day + 1):
            day = local_today + dt.timedelta(days=offset)
            if day.weekday() >= 5 and rng.random() < 0.8:
                continue  # most weekends off
            start, end = _on_rota(day, hour, length, tz)
            shifts.create_shift(account_id, shifts.ShiftCreate(
                location_id=member.location_id, worker_id=member.worker_id, start=start, end=end,
                cost_code_id=cost_code,
                role=None, break_minutes=30,
            ))
            counts["shifts"] += 1
            if end <= now:
                _worked(account_id, rng, now, member, start, end, cost_code)
                counts["time_entries"] += 1
            elif start <= now and member in active and rng.random() < 0.85:
                clocked_in = min(now, start + dt.timedelta(minutes=rng.randint(-8, 6)))
                clocking.clock_in(account_id, member.worker_id, location_id=member.location_id,
                                  timestamp=clocked_in, position=_near(rng, member.site),
                                  source="kiosk")
                counts["time_entries"] += 1
                counts["open_entries"] += 1
    # A handful of open shifts nobody has picked up yet.
    for n in range(5):
        member = staff[n]
        tz = zone(SITES[member.site][7])
        day = now.astimezone(tz).date() + dt.timedelta(days=2 + n)
        start, end = _on_rota(day, 10, 6, tz)
        shifts.create_shift(account_id, shifts.ShiftCreate(
            location_id=member.location_id, start=start, end=end,
            role="Cover", notes="Open shift: first come, first served",
        ))
        counts["shifts"] += 1
    return counts


def _on_rota(day: dt.date, hour: int, length: int,
             tz: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The UTC start and end of a rota shift from `hour` for `length` hours of the local clock.

    Each end is placed on the local clock separately and converted on its own: adding
    hours to an aware datetime is wall-clock arithmetic in Python, which lands in the
    hour a spring clock change skips. An hour that does not exist reads as the one after.
    """
    end_day = day + dt.timedelta(days=(hour + length) // 24)
    start = dt.datetime.combine(day, dt.time(hour), tzinfo=tz)
    end = dt.datetime.combine(end_day, dt.time((hour + length) % 24), tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _near(rng: random.Random, site: int) -> clocking.Position:
    lat, lon = SITES[site][5], SITES[site][6]
    return clocking.Position(lat + rng.uniform(-0.001, 0.001), lon + rng.uniform(-0.001, 0.001),
                             rng.choice((5.0, 8.0, 12.0, 20.0, 150.0)))


def _worked(account_id: int, rng: random.Random, now: dt.datetime, member: _Staff,
            start: dt.datetime, end: dt.datetime, cost_code: int) -> None:
    clock_in = start + dt.timedelta(minutes=rng.randint(-10, 12))
    clock_out = min(end + dt.timedelta(minutes=rng.randint(-5, 25)), now)
    break_start = start + dt.timedelta(hours=4, minutes=rng.randint(-30, 30))
    break_end = break_start + dt.timedelta(minutes=rng.choice((15, 30, 30, 30, 45)))
    entry = clocking.record_entry(
        account_id, member.worker_id, member.location_id, clock_in, clock_out,
        breaks=[(break_start, break_end)],
        cost_code_id=cost_code,
        source=rng.choice(("kiosk", "kiosk", "kiosk", "api")),
    )
    # Last week's time is mostly approved; this week's mostly waits for the admin.
    age = now - clock_out
    roll = rng.random()
    if roll < 0.04:
        timesheets.set_entry_status(account_id, entry.id, "disputed")
    elif roll < (0.9 if age > dt.timedelta(days=7) else 0.2):
        timesheets.set_entry_status(account_id, entry.id, "approved")
