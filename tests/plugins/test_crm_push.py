"""CRM push on the `tempclock` fixture, as a third party's connector is tested: the events
the admin chose reach the CRM's URL with the field mapping, once each."""

from __future__ import annotations

import pytest

from tempclock.plugins import crm_push
from tempclock.plugins.crm_push import CrmPush

CRM = "https://crm.example.com/tempclock"


@pytest.fixture
def crm(tempclock):
    tempclock.use(crm_push)
    return "crm-push"


def test_a_new_worker_is_sent_with_the_mapped_fields_and_the_authorization(tempclock, crm):
    tempclock.enable(crm, {"url": CRM, "mapping": "externalId=id; name=first_name; "
                                                  "what=event", "authorization": "Bearer t0k"})
    ann = tempclock.add_worker("Ann", "Nowak")
    tempclock.dispatch()
    (sent,) = tempclock.deliveries()
    assert (sent["connector"], sent["url"]) == ("crm-push", CRM)
    assert sent["payload"] == {"externalId": ann["id"], "name": "Ann", "what": "worker_created"}
    assert sent["headers"] == {"Authorization": "Bearer t0k"}


def test_only_the_chosen_events_are_sent(tempclock, crm):
    tempclock.enable(crm, {"url": CRM, "events": "clock_in"})
    ann = tempclock.add_worker(location=tempclock.add_location())
    tempclock.clock_in(ann)
    tempclock.dispatch()
    assert [d["payload"]["event"] for d in tempclock.deliveries()] == ["clock_in"]


def test_without_a_mapping_the_whole_event_is_sent(tempclock, crm):
    tempclock.enable(crm, {"url": CRM})
    tempclock.add_worker("Ann", "Nowak")
    tempclock.dispatch()
    (sent,) = tempclock.deliveries()
    assert sent["payload"]["event"] == "worker_created"
    assert sent["payload"]["data"]["last_name"] == "Nowak"


def test_events_before_the_connector_was_switched_on_are_not_sent(tempclock, crm):
    tempclock.add_worker("Early", "Bird")
    tempclock.enable(crm, {"url": CRM})
    tempclock.add_worker("Ann", "Nowak")
    tempclock.dispatch()
    assert [d["payload"]["data"]["first_name"] for d in tempclock.deliveries()] == ["Ann"]


def test_an_internal_or_missing_url_is_refused_when_saved(tempclock, crm):
    with pytest.raises(ValueError, match="internal address not allowed"):
        tempclock.enable(crm, {"url": "http://192.168.1.10/crm"})
    with pytest.raises(ValueError, match="required"):
        tempclock.enable(crm, {})


def test_a_connector_object_can_be_enabled_and_its_mapping_picks_fields(tempclock):
    leeds = tempclock.add_location("Leeds DC")
    tempclock.add_worker("Ann", "Nowak", location=leeds)
    tempclock.enable(CrmPush(), {"url": CRM, "mapping": "site=location_name"})
    tempclock.add_worker("Bob", "Smith", location=leeds)
    tempclock.dispatch()
    assert [d["payload"] for d in tempclock.deliveries()] == [{"site": "Leeds DC"}]
