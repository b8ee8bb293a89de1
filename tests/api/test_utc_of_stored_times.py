"""A stored time read back for a record is the same instant, marked UTC, whatever it is."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from tempclock.api.services.common import utc


@given(st.datetimes(allow_imaginary=True) | st.datetimes(timezones=st.timezones()),
       st.sampled_from([0, 1]))
def test_a_stored_time_read_back_is_the_same_fields_marked_utc(stored, fold):
    stored = stored.replace(fold=fold)
    expected = stored.replace(tzinfo=dt.UTC)

    read = utc(stored)

    assert read == expected
    assert read.tzinfo is dt.UTC
    assert (read.fold, type(read)) == (expected.fold, dt.datetime)
    assert read.isoformat() == expected.isoformat()


def test_no_stored_time_reads_as_none():
    assert utc(None) is None
