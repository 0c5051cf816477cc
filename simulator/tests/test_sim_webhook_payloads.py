"""Webhook bodies and headers against the reference samples (simulator/reference)."""

import json
import re
from datetime import datetime, timezone
from decimal import Decimal

import pytest
import requests

from simulator.reference import reference_path
from simulator.testing import graphql, woo

SHOPIFY_SAMPLED_TOPICS = (
    "orders/create",
    "orders/paid",
    "orders/updated",
    "orders/cancelled",
    "refunds/create",
    "fulfillments/create",
    "inventory_levels/update",
    "app/uninstalled",
)
# orders/paid has no sample of its own: its body is the order, as for create.
SAMPLE_OF = {"orders/paid": "orders/create"}
# What a list in a sample holds, compared one level down.
NESTED = {
    "orders/create": ("line_items", "shipping_lines"),
    "orders/updated": ("line_items",),
    "orders/cancelled": ("line_items",),
    "refunds/create": ("refund_line_items", "transactions"),
    "fulfillments/create": ("line_items",),
}


def subscribe(sim, url, topic):
    mutation = """mutation C(
      $topic: WebhookSubscriptionTopic!, $s: WebhookSubscriptionInput!
    ) { webhookSubscriptionCreate(topic: $topic, webhookSubscription: $s) {
      userErrors { message } } }"""
    body = graphql(sim, mutation, {"topic": topic, "s": {"uri": url}}).json()
    assert body["data"]["webhookSubscriptionCreate"]["userErrors"] == []


def shopify_sample(topic):
    name = SAMPLE_OF.get(topic, topic).replace("/", "__")
    path = reference_path("shopify", "webhooks", f"{name}.json")
    return json.loads(path.read_text())


def fulfil_everything(sim, order_id):
    query = """query($id: ID!) { order(id: $id) {
      fulfillmentOrders(first: 1) { nodes { id } } } }"""
    order = graphql(sim, query, {"id": f"gid://shopify/Order/{order_id}"}).json()
    node = order["data"]["order"]["fulfillmentOrders"]["nodes"][0]
    mutation = """mutation F($f: FulfillmentInput!) {
      fulfillmentCreate(fulfillment: $f) { userErrors { message } } }"""
    variables = {
        "f": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": node["id"]}]}
    }
    answer = graphql(sim, mutation, variables).json()
    assert answer["data"]["fulfillmentCreate"]["userErrors"] == []


def test_every_sampled_shopify_topic_has_the_samples_keys(sim, receiver):
    for topic in SHOPIFY_SAMPLED_TOPICS:
        subscribe(sim, receiver.url, topic.upper().replace("/", "_"))
    summary = sim.scenario.create_order(
        channel="shopify", lines=[["SIM-000001", 2]], shipping="4.90"
    )
    line = summary["lines"][0]["id"]
    sim.scenario.refund_order("shopify", summary["id"], lines=[[line, 1]])
    fulfil_everything(sim, summary["id"])
    sim.scenario.cancel_order("shopify", summary["id"])
    sim.scenario.uninstall_app()
    sim.wait_for_webhooks_idle()
    bodies = {}
    for request in receiver.requests:
        bodies.setdefault(request["headers"]["X-Shopify-Topic"], request["body"])
    assert set(bodies) == set(SHOPIFY_SAMPLED_TOPICS)
    for topic, body in bodies.items():
        sample, payload = shopify_sample(topic), json.loads(body)
        assert set(payload) == set(sample), topic
        for key in NESTED.get(topic, ()):
            assert payload[key], f"{topic}: {key} is empty"
            assert set(sample[key][0]) <= set(payload[key][0]), f"{topic}.{key}"


def test_shopify_headers_carry_the_trigger_time_of_the_event(make_sim, receiver):
    moment = datetime(2026, 7, 10, 16, 15, 47, tzinfo=timezone.utc)
    sim = make_sim(wall_clock=lambda: moment)
    subscribe(sim, receiver.url, "ORDERS_CREATE")
    subscribe(sim, receiver.url, "INVENTORY_LEVELS_UPDATE")
    receiver.statuses = [500]
    sim.scenario.create_order(channel="shopify", lines=[["SIM-000001", 1]])
    seen = receiver.wait_for(3)
    sim.wait_for_webhooks_idle()
    vectors = json.loads(
        reference_path(
            "shopify", "webhooks", "hmac_test_vectors", "vectors.json"
        ).read_text()
    )
    reference = vectors["vectors"][0]["headers"]
    for request in seen:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert {k.lower() for k in reference} <= set(headers)
        assert headers["x-shopify-triggered-at"] == "2026-07-10T16:15:47.000000Z"
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", reference["X-Shopify-Triggered-At"]
    ), "the format is the reference's"
    retried = [
        r
        for r in receiver.requests
        if r["headers"]["X-Shopify-Topic"] == "orders/create"
    ]
    assert len(retried) == 2, "the first attempt failed, then one retry"
    assert retried[0]["headers"] == retried[1]["headers"]


def test_woocommerce_order_deliveries_match_the_reference(sim, receiver):
    hooks = [
        woo(
            sim,
            "POST",
            "webhooks",
            json={"topic": topic, "delivery_url": receiver.url},
        ).json()
        for topic in ("order.created", "order.updated")
    ]
    receiver.wait_for(2)  # the pings
    summary = sim.scenario.create_order(channel="woocommerce")
    sim.scenario.update_order(channel="woocommerce", order_id=summary["id"], note="n")
    created, updated = receiver.wait_for(4)[2:]
    folder = reference_path("woocommerce", "webhooks")
    captured = json.loads(
        (folder / "captured_headers__order.created__wc3.9.1.json").read_text()
    )["headers"]
    for request, hook, name in (
        (created, hooks[0], "order__created"),
        (updated, hooks[1], "order__updated"),
    ):
        headers = {k.lower(): v for k, v in request["headers"].items()}
        wanted = {k for k in captured if k.startswith("x-wc-")}
        assert wanted == {k for k in headers if k.startswith("x-wc-")}
        assert re.fullmatch(r"[0-9a-f]{32}", headers["x-wc-webhook-delivery-id"])
        assert headers["x-wc-webhook-id"] == str(hook["id"])
        assert headers["x-wc-webhook-source"] == f"{sim.base_url}/"
        sample = json.loads((folder / f"{name}.body.json").read_text())
        payload = json.loads(request["body"])
        assert set(sample) <= set(payload), name
        assert set(sample["line_items"][0]) <= set(payload["line_items"][0])
        assert set(sample["billing"]) <= set(payload["billing"])
    assert json.loads(updated["body"])["customer_note"] == "n"


def test_a_cancellation_with_refund_refunds_what_is_left_with_its_topic(sim, receiver):
    for topic in ("ORDERS_CANCELLED", "REFUNDS_CREATE"):
        subscribe(sim, receiver.url, topic)
    summary = sim.scenario.create_order(
        channel="shopify",
        lines=[["SIM-000001", 2], ["SIM-000002", 1]],
        shipping="4.90",
        tax_rate="0.20",
        notify=False,
    )
    first, second = (line["id"] for line in summary["lines"])
    fulfil_everything(sim, summary["id"])
    partial = sim.scenario.refund_order(
        "shopify", summary["id"], lines=[[first, 1]], notify=False
    )
    cancelled = sim.scenario.cancel_order("shopify", summary["id"], refund=True)
    sim.wait_for_webhooks_idle()
    rest = cancelled["refund"]
    # Every cent of the order came back over the two refunds.
    refunded = Decimal(rest["amount"]) + Decimal(partial["amount"])
    assert refunded == Decimal(summary["total"])
    topics = [r["headers"]["X-Shopify-Topic"] for r in receiver.requests]
    assert topics == ["orders/cancelled", "refunds/create"]
    assert len({r["headers"]["X-Shopify-Event-Id"] for r in receiver.requests}) == 1
    refund = json.loads(receiver.requests[1]["body"])
    assert str(refund["id"]) == rest["id"]
    assert [
        (str(item["line_item_id"]), item["quantity"], item["restock_type"])
        for item in refund["refund_line_items"]
    ] == [(first, 1, "return"), (second, 1, "return")]
    order = json.loads(receiver.requests[0]["body"])
    assert str(rest["id"]) in {str(r["id"]) for r in order["refunds"]}
    # Nothing left to refund: a second cancellation refunds nothing.
    again = sim.scenario.cancel_order(
        "shopify", summary["id"], refund=True, notify=False
    )
    assert "refund" not in again


def test_open_returns_cancel_and_requested_ones_decline_with_their_topic(sim, receiver):
    for topic in ("RETURNS_CANCEL", "RETURNS_DECLINE"):
        subscribe(sim, receiver.url, topic)
    summary = sim.scenario.create_order(
        channel="shopify", lines=[["SIM-000001", 2]], notify=False
    )
    line = summary["lines"][0]["id"]
    opened = sim.scenario.create_return("shopify", summary["id"], lines=[[line, 1]])
    requested = sim.scenario.create_return(
        "shopify", summary["id"], lines=[[line, 1]], status="REQUESTED"
    )
    with pytest.raises(ValueError, match="cannot become DECLINED"):
        sim.scenario.end_return(summary["id"], opened["id"], decline=True)
    answer = requests.post(
        f"{sim.base_url}/_sim/orders/shopify/{summary['id']}/returns/"
        f"{opened['id']}/end",
        json={},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "CANCELED"
    declined = sim.scenario.end_return(summary["id"], requested["id"], decline=True)
    assert declined["status"] == "DECLINED"
    with pytest.raises(ValueError, match="cannot become CANCELED"):
        sim.scenario.end_return(summary["id"], opened["id"])
    sim.wait_for_webhooks_idle()
    sent = [
        (r["headers"]["X-Shopify-Topic"], json.loads(r["body"])["status"])
        for r in receiver.requests
    ]
    assert sent == [("returns/cancel", "canceled"), ("returns/decline", "declined")]
    # Both lines are returnable again.
    again = sim.scenario.create_return("shopify", summary["id"], lines=[[line, 2]])
    assert again["status"] == "OPEN"
