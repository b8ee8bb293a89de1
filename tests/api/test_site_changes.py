"""Changing a site as the desktop's site dialog does: a new time zone moves only the entries and
shifts whose local day changes; a country that is no ISO code, or a webhook address that is no
IPv6 address, is refused naming the field."""

from __future__ import annotations

import datetime as dt

import pytest

from tempclock.api.services import clocking, locations, shifts, timesheets, webhooks
from tempclock.api.services.errors import Invalid


def test_a_new_time_zone_moves_only_what_changes_local_day(account, site, worker):
    noon = clocking.record_entry(account.id, worker.id, site.id,
                                 dt.datetime(2026, 3, 3, 9, tzinfo=dt.UTC),
                                 dt.datetime(2026, 3, 3, 12, tzinfo=dt.UTC))
    late = shifts.create_shift(account.id, shifts.ShiftCreate(
        location_id=site.id, worker_id=worker.id,
        start=dt.datetime(2026, 12, 20, 23, 30, tzinfo=dt.UTC),
        end=dt.datetime(2026, 12, 21, 5, tzinfo=dt.UTC)))
    assert on_day(account, dt.date(2026, 12, 20)) == [late.id]
    locations.update_location(account.id, site.id, locations.LocationUpdate(
        timezone="Europe/Warsaw"))
    assert timesheets.get_entry(account.id, noon.id).work_date == dt.date(2026, 3, 3)
    assert on_day(account, dt.date(2026, 12, 20)) == []
    assert on_day(account, dt.date(2026, 12, 21)) == [late.id]


def on_day(account, day: dt.date) -> list[int]:
    found = shifts.list_shifts(account.id, shifts.ShiftFilter(date_from=day, date_to=day))
    return [shift.id for shift in found.data]


@pytest.mark.parametrize("country", ["G1", "GBR", "4"])
def test_a_country_that_is_no_two_letter_code_is_refused(account, site, country):
    with pytest.raises(Invalid) as refused:
        locations.update_location(account.id, site.id, locations.LocationUpdate(country=country))
    assert refused.value.field == "country"
    assert locations.get_location(account.id, site.id).country != country


def test_a_lower_case_country_is_kept_upper_case(account, site):
    changed = locations.update_location(account.id, site.id, locations.LocationUpdate(
        country="pl"))
    assert changed.country == "PL"


# Brackets holding an IPv4 address, a future-format literal or too many digits.
@pytest.mark.parametrize("url", ["https://[93.184.216.34]/hooks", "https://[v1.fe80]/hooks",
                                 "https://[12345::1]/hooks"])
def test_a_webhook_address_with_a_broken_ipv6_literal_is_refused(account, url):
    with pytest.raises(Invalid, match="(?i)invalid ipv6 address") as refused:
        webhooks.create_webhook(account.id, webhooks.WebhookCreate(url=url))
    assert refused.value.field == "url"
    assert webhooks.list_webhooks(account.id).data == []
