"""Fault injection over HTTP, determinism, admin endpoints and persistence."""

import time
from datetime import datetime, timezone

import pytest
import requests

from simulator import ChannelSimulator
from simulator.testing import graphql, woo


def test_429_with_retry_after_on_both_channels(sim):
    sim.scenario.inject("woocommerce", "429", count=2, retry_after=7)
    sim.scenario.inject("shopify", "429")
    for _index in range(2):
        response = woo(sim, "GET", "products")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "7"
    assert woo(sim, "GET", "products").status_code == 200
    response = graphql(sim, "{ shop { name } }")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"


def test_throttled_fault_drains_the_bucket(sim):
    sim.scenario.inject("shopify", "throttled")
    body = graphql(sim, "{ shop { name } }").json()
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 0


def test_5xx_for_a_time_window(sim, clock):
    sim.scenario.inject("shopify", "503", count=None, seconds=5)
    assert graphql(sim, "{ shop { name } }").status_code == 503
    assert graphql(sim, "{ shop { name } }").status_code == 503
    clock.now += 5
    assert graphql(sim, "{ shop { name } }").status_code == 200
    sim.scenario.inject("woocommerce", "5xx")
    response = woo(sim, "GET", "products")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_server_error"


def test_latency_and_timeout(sim):
    sim.scenario.inject("woocommerce", "latency", delay=0.3)
    started = time.monotonic()
    assert woo(sim, "GET", "products").status_code == 200
    assert time.monotonic() - started >= 0.3
    sim.scenario.inject("shopify", "timeout", delay=1.0)
    try:
        requests.post(
            f"{sim.base_url}/admin/api/2026-07/graphql.json",
            json={"query": "{ shop { name } }"},
            headers={"X-Shopify-Access-Token": "shpat_sim_token"},
            timeout=0.3,
        )
        raise AssertionError("the request should have timed out")
    except requests.Timeout:
        pass


def test_same_seed_same_scenario():
    """Ids, names, amounts and uuids come from the seed; times from wall_clock."""
    moment = datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc)

    def run():
        with ChannelSimulator(seed=11, wall_clock=lambda: moment) as sim:
            sim.scenario.seed_catalogue(count=8)
            orders = [
                sim.scenario.create_order(channel=channel, notify=False)
                for channel in ("shopify", "woocommerce", "shopify")
            ]
            return sim.state.variants, orders

    assert run() == run()


def test_order_options_shape_the_totals(sim):
    base = {"channel": "shopify", "notify": False, "lines": [["SIM-000001", 2]]}
    excluded = sim.scenario.create_order(**base, tax_rate="0.10", shipping="5.00")
    included = sim.scenario.create_order(
        **base, tax_rate="0.10", shipping="5.00", taxes_included=True
    )
    price = sim.state.variants["100001"]["price"]
    assert excluded["subtotal"] == str(price * 2)
    assert excluded["tax"] == str(((price * 2 + 5) * 10 / 100).quantize(price))
    assert included["total"] == str(price * 2 + 5)
    guest = sim.scenario.create_order(**base, customer="guest")
    assert guest["customer_id"] is None
    first = sim.scenario.create_order(**base, customer="new")
    again = sim.scenario.create_order(**base, customer="repeat")
    assert again["customer_id"] in {c["id"] for c in sim.state.customers["shopify"]}
    assert first["customer_id"]
    risky = sim.scenario.create_order(**base, high_risk=True)
    assert sim.scenario.order_json("shopify", risky["id"])["id"] == int(risky["id"])


def test_admin_endpoints_drive_the_scenario(sim):
    admin = f"{sim.base_url}/_sim"
    order = requests.post(
        f"{admin}/orders", json={"channel": "shopify", "currency": "GBP"}, timeout=10
    ).json()
    assert order["presentment_currency"] == "GBP"
    refund = requests.post(
        f"{admin}/orders/shopify/{order['id']}/refunds",
        json={"lines": [[order["lines"][0]["id"], 1]], "restock": False},
        timeout=10,
    )
    assert refund.status_code == 200, refund.text
    fault = requests.post(
        f"{admin}/faults", json={"api": "woocommerce", "kind": "429"}, timeout=10
    )
    assert fault.json()["kind"] == "429"
    assert len(requests.get(f"{admin}/faults", timeout=10).json()) == 1
    assert woo(sim, "GET", "products").status_code == 429
    assert requests.get(f"{admin}/faults", timeout=10).json() == []
    report = requests.get(f"{admin}/report", timeout=10).json()
    assert report["calls"]["GET products"] == 1, "a refused call is still a call"
    assert report["faults_fired"] == [{"api": "woocommerce", "kind": "429"}]
    bad = requests.post(
        f"{admin}/faults", json={"api": "nope", "kind": "429"}, timeout=10
    )
    assert bad.status_code == 400


def test_snapshot_replays_to_the_same_state():
    with ChannelSimulator(seed=5) as sim:
        sim.scenario.seed_catalogue(count=4)
        order = sim.scenario.create_order(channel="shopify", order_discount="2")
        sim.scenario.set_inventory(variant="SIM-000002", available=1)
        snapshot = sim.scenario.snapshot()
    with ChannelSimulator(seed=snapshot["seed"]) as copy:
        copy.scenario.restore(snapshot)
        assert copy.scenario.summary("shopify", order["id"]) == order
        assert copy.state.levels == sim.state.levels


def test_faults_without_meaning_for_their_api_are_refused(sim):
    meaningless = [
        ("shopify_webhooks", "latency", "no meaning for 'shopify_webhooks'"),
        ("woocommerce_webhooks", "5xx", "no meaning for 'woocommerce_webhooks'"),
        ("woocommerce_webhooks", "503", "no meaning for 'woocommerce_webhooks'"),
        ("shopify_webhooks", "429", "no meaning for 'shopify_webhooks'"),
        ("woocommerce", "throttled", "no meaning for 'woocommerce'"),
        ("shopify", "duplicate", "no meaning for 'shopify'"),
    ]
    for api, kind, message in meaningless:
        with pytest.raises(ValueError, match=message):
            sim.scenario.inject(api, kind)
        answer = requests.post(
            f"{sim.base_url}/_sim/faults", json={"api": api, "kind": kind}, timeout=10
        )
        assert answer.status_code == 400
        assert message in answer.json()["error"]
    assert sim.scenario.faults() == []
    before = sim.bucket.status()["currentlyAvailable"]
    assert woo(sim, "GET", "products").status_code == 200
    assert sim.bucket.status()["currentlyAvailable"] == before, "bucket untouched"
    assert sim.state.faults.fired == []
