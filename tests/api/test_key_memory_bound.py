"""The memory of verified keys is bounded: past its size it starts afresh, and every key is
still answered exactly (a revoked one refused, the others let in)."""

from __future__ import annotations

import pytest

from tempclock.api.services import keys, verified_keys
from tempclock.api.services.errors import DomainError
from tempclock.api.services.verified_keys import VerifiedKeys


def test_a_full_memory_starts_afresh_and_still_answers_every_key_exactly(account, monkeypatch):
    monkeypatch.setattr(verified_keys, "MAX_REMEMBERED", 2)
    issued = [keys.issue_key(account.id, f"Integration {n}") for n in range(5)]
    checker = VerifiedKeys()
    for key in issued:
        assert checker.verify(key.plaintext).key_id == key.key.id
        assert len(checker._known) <= 2
    keys.revoke_key(issued[0].key.id)
    with pytest.raises(DomainError) as refused:
        checker.verify(issued[0].plaintext)
    assert refused.value.code == "key_revoked"
    assert [checker.verify(k.plaintext).key_id for k in issued[1:]] == [
        k.key.id for k in issued[1:]]
