"""Shopify Payments and Stripe payouts: admin endpoints, the Stripe API's
shape, paging and errors, and replay of the payout scenario steps."""

import requests

from simulator import ChannelSimulator
from simulator.stripe_api import STRIPE_SECRET_KEY

AUTH = {"Authorization": f"Bearer {STRIPE_SECRET_KEY}"}


def stripe(sim, path, **params):
    return requests.get(f"{sim.base_url}{path}", params=params, headers=AUTH, timeout=5)


def test_stripe_payout_lists_its_balance_transactions_with_sources(sim):
    sim.scenario.add_stripe_balance_transaction("charge", "20.00", "0.88")
    sim.scenario.add_stripe_balance_transaction(
        "adjustment", "-20.00", "15.00", charge="ch_disputed"
    )
    payout = requests.post(f"{sim.base_url}/_sim/stripe/payouts", json={}, timeout=5)
    payout_id = payout.json()["id"]
    body = stripe(sim, "/v1/payouts", limit=10).json()
    assert body["object"] == "list"
    assert body["data"][0]["id"] == payout_id
    assert body["data"][0]["amount"] == 2000 - 88 - 2000 - 1500
    lines = stripe(
        sim, "/v1/balance_transactions", payout=payout_id, **{"expand[]": "data.source"}
    ).json()["data"]
    sources = {line["type"]: line["source"] for line in lines}
    assert sources["charge"]["object"] == "charge"
    assert sources["adjustment"]["object"] == "dispute"
    assert sources["adjustment"]["charge"] == "ch_disputed"


def test_stripe_errors_in_stripes_shape(sim):
    response = requests.get(f"{sim.base_url}/v1/payouts", timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    response = stripe(sim, "/v1/balance_transactions", payout="po_missing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"
    assert stripe(sim, "/v1/payouts", limit=101).status_code == 400
    sim.scenario.inject("stripe", "429")
    response = stripe(sim, "/v1/payouts")
    assert response.status_code == 429
    assert response.json()["error"]["type"] == "rate_limit_error"


def test_payout_steps_replay():
    with ChannelSimulator(seed=9) as first:
        first.scenario.add_balance_transaction("adjustment", "-5.00")
        shopify = first.scenario.create_payout()
        first.scenario.set_payout_status(shopify["id"], "failed")
        first.scenario.add_stripe_balance_transaction("charge", "12.00", "0.65")
        first.scenario.create_stripe_payout(status="in_transit")
        snapshot = first.scenario.snapshot()
    with ChannelSimulator(seed=9) as second:
        second.scenario.restore(snapshot)
        assert second.state.payouts[0]["status"] == "failed"
        assert second.state.stripe_payouts[0]["status"] == "in_transit"
        assert (
            second.state.stripe_payouts[0]["amount"]
            == first.state.stripe_payouts[0]["amount"]
        )
