"""The simulated warehouse partner: requests, shipments, snapshots, faults."""

import hashlib
import hmac
import json
from datetime import datetime, timezone

import requests

from simulator.threepl import sign

SECRET = "sim_threepl_secret"


def signed_headers(secret, topic, event_id, body):
    """Headers of a message to the partner, signed now with `secret`."""
    timestamp = datetime.now(timezone.utc).isoformat()
    return {
        "X-Channel-Topic": topic,
        "X-Channel-Event-Id": event_id,
        "X-Channel-Timestamp": timestamp,
        "X-Channel-Signature": sign(secret, timestamp, event_id, topic, body),
    }


def post_request(sim, request_id="WH/OUT/00001", lines=None, secret=SECRET):
    body = json.dumps(
        {
            "request_id": request_id,
            "order_ref": "#1001",
            "ship_to": {"name": "Ada"},
            "lines": lines or [{"sku": "SIM-000001", "quantity": 3}],
        }
    ).encode()
    headers = signed_headers(secret, "fulfilment/request", request_id, body)
    return requests.post(
        f"{sim.base_url}/3pl/requests", data=body, headers=headers, timeout=10
    )


def test_request_is_acknowledged_once_and_a_forgery_refused(sim):
    first = post_request(sim)
    again = post_request(sim)
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    assert len(sim.threepl.requests) == 1
    assert post_request(sim, "WH/OUT/00002", secret="wrong").status_code == 401


def test_partial_then_rest_each_confirmed_signed(sim, receiver):
    sim.threepl.webhook_url = receiver.url
    post_request(sim)
    first = sim.scenario.threepl_ship("WH/OUT/00001", {"SIM-000001": 1})
    rest = sim.scenario.threepl_ship("WH/OUT/00001")
    assert [line["quantity"] for line in (first["lines"] + rest["lines"])] == [1, 2]
    delivered = receiver.wait_for(2)
    headers, body = delivered[0]["headers"], delivered[0]["body"]
    assert headers["X-Channel-Topic"] == "shipments/confirmed"
    message = (
        f"{headers['X-Channel-Timestamp']}.{headers['X-Channel-Event-Id']}."
        "shipments/confirmed."
    ).encode() + body
    digest = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    assert headers["X-Channel-Signature"] == f"sha256={digest}"
    listed = requests.get(
        f"{sim.base_url}/3pl/shipments",
        params={"since": "2000-01-01T00:00:00+00:00"},
        timeout=10,
    ).json()
    assert [s["shipment_id"] for s in listed["shipments"]] == [
        first["shipment_id"],
        rest["shipment_id"],
    ]


def test_shipping_more_than_is_left_is_refused(sim):
    post_request(sim)
    sim.threepl.ship("WH/OUT/00001", {"SIM-000001": 3})
    try:
        sim.threepl.ship("WH/OUT/00001", {"SIM-000001": 1})
    except ValueError as error:
        assert "0 left" in str(error)
    else:
        raise AssertionError("shipped more than was asked")


def test_request_ships_itself_after_the_delay(sim, receiver):
    sim.threepl.webhook_url = receiver.url
    sim.threepl.ship_delay = 0.05
    post_request(sim)
    (delivered,) = receiver.wait_for(1)
    assert json.loads(delivered["body"])["lines"] == [
        {"sku": "SIM-000001", "quantity": 3}
    ]


def test_snapshot_and_5xx_fault(sim, receiver):
    sim.threepl.webhook_url = receiver.url
    sim.scenario.threepl_snapshot({"SIM-000001": 7})
    (delivered,) = receiver.wait_for(1)
    assert json.loads(delivered["body"])["quantities"] == [
        {"sku": "SIM-000001", "quantity": 7}
    ]
    sim.scenario.inject("threepl", "503")
    assert post_request(sim).status_code == 503
    assert post_request(sim).status_code == 200


def test_admin_api_ships_a_request_named_with_slashes(sim, receiver):
    sim.threepl.webhook_url = receiver.url
    post_request(sim)
    response = requests.post(
        f"{sim.base_url}/_sim/threepl/WH/OUT/00001/ship",
        json={"lines": {"SIM-000001": 2}},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["lines"] == [{"sku": "SIM-000001", "quantity": 2}]
    assert sim.threepl.requests["WH/OUT/00001"]["shipped"] == {"SIM-000001": 2}


def post_cancel(sim, request_id="WH/OUT/00001", secret=SECRET):
    body = json.dumps({"request_id": request_id}).encode()
    headers = signed_headers(secret, "fulfilment/cancel", f"cancel:{request_id}", body)
    return requests.post(
        f"{sim.base_url}/3pl/requests/{requests.utils.quote(request_id, safe='')}"
        "/cancel",
        data=body,
        headers=headers,
        timeout=10,
    )


def test_cancel_stops_shipping_or_comes_too_late(sim, receiver):
    sim.threepl.webhook_url = receiver.url
    post_request(sim)
    assert post_cancel(sim, secret="wrong").status_code == 401
    answer = post_cancel(sim)
    assert answer.json() == {"status": "cancelled"}
    assert post_cancel(sim).json() == {"status": "cancelled"}, "asked again"
    try:
        sim.threepl.ship("WH/OUT/00001")
    except ValueError as error:
        assert "cancelled" in str(error)
    else:
        raise AssertionError("a cancelled request shipped")
    post_request(sim, "WH/OUT/00002")
    sim.scenario.threepl_ship("WH/OUT/00002", {"SIM-000001": 1})
    late = post_cancel(sim, "WH/OUT/00002").json()
    assert late == {"status": "too_late", "shipped": {"SIM-000001": 1}}
    assert post_cancel(sim, "WH/OUT/09999").status_code == 404


def test_connect_sets_where_the_partner_confirms(sim, receiver):
    response = requests.post(
        f"{sim.base_url}/_sim/threepl/connect",
        json={"webhook_url": receiver.url, "ship_delay": 0.2},
        timeout=10,
    )
    assert response.status_code == 200
    post_request(sim)
    (delivered,) = receiver.wait_for(1)
    assert delivered["headers"]["X-Channel-Topic"] == "shipments/confirmed"
