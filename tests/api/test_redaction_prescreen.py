"""The log writer's cheap pre-screen (substring tests before the key regex) never lets
through a text the regex alone would have redacted: redaction with it is redaction without it."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tempclock.api.services import api_logs
from tempclock.api.services.api_logs import REDACTED, redact, redact_query
from tempclock.api.services.keys import generate_key

# Pieces keys are made of, the separators the key regex allows between them, percent
# escapes, and letters that case-insensitive matching folds to ASCII ('ſ', 'K', 'ı', 'İ').
_PIECES = st.sampled_from([
    "tc", "TC", "tC", "t", "c", "live", "LIVE", "Live", "test", "TEST", "teſt", "lıve", "lİve",
    "_", "-", ".", " ", "+", ":", "%", "%5f", "%255F", "%74c", "=", "&", "key=", "token=",
    "0", "9", "a", "f", "F", "g", "z", "K", "0123456789abcdef", "ABCDEF0123456789", "/",
    "ｔｃ＿ｌｉｖｅ", "\x00", "\x7f", "é",
])
_TEXTS = st.lists(_PIECES, max_size=24).map("".join)


def _without_prescreen(redaction, text: str) -> str:
    """What `redaction` makes of `text` with the pre-screen off (the regex on every field)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(api_logs, "_may_hold_key", lambda plain: True)
        return redaction(text)


@settings(max_examples=500, deadline=None)
@given(_TEXTS)
@example("tc_live_" + "a" * 8)
@example("TC-TEST-ab12")
@example("tc%5Flive%5Fab")
@example("x" * 20 + "0123456789abcdef" * 2)
@example("teſt tc ſ")
def test_redaction_with_the_prescreen_is_redaction_without_it(text):
    assert redact(text) == _without_prescreen(redact, text)
    plain = api_logs._decoded(text)
    if api_logs._KEY_SHAPED.search(plain) is not None:
        assert api_logs._may_hold_key(plain)


@settings(max_examples=300, deadline=None)
@given(_TEXTS, _TEXTS)
@example("q", "tc_live_abcd")
@example("tc%5Ftest", "1")
def test_query_redaction_with_the_prescreen_is_query_redaction_without_it(name, value):
    query = f"id=2&{name}={value}&limit=5"
    assert redact_query(query) == _without_prescreen(redact_query, query)


def test_a_real_key_is_still_redacted_in_every_form():
    key = generate_key()
    for text in (key, key.upper(), f"Mozilla/5.0 {key}", key.replace("_", "%5F"),
                 key.replace("_", "%255F"), f"tc_live_{key[8:16]}"):
        assert REDACTED in redact(text), text
    assert redact_query(f"id=2&q={key}") == "id=2"
