"""Webhook deliveries: signatures, retries, WooCommerce's disable rule, faults."""

import json
import time

from simulator.reference import reference_path
from simulator.testing import graphql, woo
from simulator.webhooks import SHOPIFY_RETRIES, sign, wp_json

SUBSCRIBE = """mutation C(
  $topic: WebhookSubscriptionTopic!, $s: WebhookSubscriptionInput!
) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $s) {
    webhookSubscription { id } userErrors { message } } }"""


def subscribe(sim, url, topic="ORDERS_CREATE"):
    body = graphql(sim, SUBSCRIBE, {"topic": topic, "s": {"uri": url}}).json()
    return body["data"]["webhookSubscriptionCreate"]["webhookSubscription"]["id"]


def test_shopify_signature_reproduces_reference_vectors():
    folder = reference_path("shopify", "webhooks", "hmac_test_vectors")
    vectors = json.loads((folder / "vectors.json").read_text())
    assert vectors["vectors"]
    for vector in vectors["vectors"]:
        body = (folder / vector["body_file"]).read_bytes()
        assert (
            sign(vectors["secret"], body) == vector["headers"]["X-Shopify-Hmac-Sha256"]
        )


def test_woocommerce_signature_and_encoding_reproduce_reference_vectors():
    folder = reference_path("woocommerce", "webhooks")
    vectors = json.loads((folder / "hmac_test_vectors.json").read_text())
    for vector in vectors["vectors"]:
        body = (folder / vector["body_file"]).read_bytes()
        assert (
            sign(vectors["secret"], body) == vector["headers"]["X-WC-Webhook-Signature"]
        )
        assert wp_json(json.loads(body)) == body.strip(), "wp_json_encode bytes"


def test_order_creation_is_delivered_signed_to_subscribers(sim, receiver):
    subscribe(sim, receiver.url, "ORDERS_CREATE")
    subscribe(sim, receiver.url + "?second", "ORDERS_CREATE")
    summary = sim.scenario.create_order(channel="shopify")
    requests_seen = receiver.wait_for(2)
    first, second = requests_seen
    headers = first["headers"]
    assert headers["X-Shopify-Topic"] == "orders/create"
    assert headers["X-Shopify-Hmac-Sha256"] == sign("sim_shopify_secret", first["body"])
    assert headers["X-Shopify-Api-Version"] == "2026-07"
    assert headers["X-Shopify-Shop-Domain"] == "demo-shop.myshopify.com"
    assert headers["X-Shopify-Event-Id"] == second["headers"]["X-Shopify-Event-Id"]
    assert headers["X-Shopify-Webhook-Id"] != second["headers"]["X-Shopify-Webhook-Id"]
    payload = json.loads(first["body"])
    assert payload["id"] == int(summary["id"])
    assert payload["total_price"] == summary["total"]
    sample = json.loads(
        reference_path("shopify", "webhooks", "orders__create.json").read_text()
    )
    assert set(sample) <= set(payload)
    assert set(sample["line_items"][0]) <= set(payload["line_items"][0])


def test_failed_delivery_is_retried_with_the_original_request(sim, receiver):
    subscribe(sim, receiver.url)
    receiver.statuses = [500, 503]
    sim.scenario.create_order(channel="shopify")
    seen = receiver.wait_for(3)
    assert len({r["body"] for r in seen}) == 1
    assert len({r["headers"]["X-Shopify-Webhook-Id"] for r in seen}) == 1
    assert len({r["headers"]["X-Shopify-Hmac-Sha256"] for r in seen}) == 1
    sim.wait_for_webhooks_idle()
    assert [d.status for d in sim.deliveries] == [500, 503, 200]
    assert [d.attempt for d in sim.deliveries] == [1, 2, 3]


def test_slow_receiver_counts_as_failed_and_subscription_goes_after_8_retries(
    sim, receiver
):
    subscribe(sim, receiver.url)
    receiver.delay = 0.7  # the fixture's webhook timeout is 0.5 s
    receiver.statuses = [200]
    sim.scenario.create_order(channel="shopify")
    sim.wait_for_deliveries(2, timeout=10)
    assert sim.deliveries[0].status == "timeout"
    receiver.delay = 0
    receiver.statuses = [500] * 20
    sim.wait_for_webhooks_idle(timeout=30)
    assert len(sim.deliveries) == 1 + SHOPIFY_RETRIES
    assert sim.state.shopify_webhooks == {}, "removed after the last retry"


def test_duplicate_and_dropped_delivery_faults(sim, receiver):
    subscribe(sim, receiver.url)
    sim.scenario.inject("shopify_webhooks", "duplicate")
    sim.scenario.create_order(channel="shopify")
    first, second = receiver.wait_for(2)
    assert first["body"] == second["body"]
    assert (
        first["headers"]["X-Shopify-Event-Id"]
        == second["headers"]["X-Shopify-Event-Id"]
    )
    assert (
        first["headers"]["X-Shopify-Webhook-Id"]
        != second["headers"]["X-Shopify-Webhook-Id"]
    )
    sim.wait_for_webhooks_idle()
    sim.scenario.inject("shopify_webhooks", "drop")
    sim.scenario.create_order(channel="shopify")
    sim.wait_for_webhooks_idle()
    time.sleep(0.2)
    assert len(receiver.requests) == 2
    assert sim.deliveries[-1].status == "dropped"


def test_out_of_order_fault_delivers_the_older_update_last(sim, receiver):
    subscribe(sim, receiver.url, "ORDERS_UPDATED")
    summary = sim.scenario.create_order(channel="shopify")
    sim.scenario.inject("shopify_webhooks", "out_of_order")
    sim.scenario.update_order(channel="shopify", order_id=summary["id"], note="older")
    sim.scenario.update_order(channel="shopify", order_id=summary["id"], note="newer")
    notes = [json.loads(r["body"])["note"] for r in receiver.wait_for(2)]
    assert notes == ["newer", "older"]


def test_woocommerce_ping_then_signed_order_updates(sim, receiver):
    created = woo(
        sim,
        "POST",
        "webhooks",
        json={"topic": "order.updated", "delivery_url": receiver.url, "secret": "s3"},
    )
    assert created.status_code == 201
    ping = receiver.wait_for(1)[0]
    assert ping["body"] == f"webhook_id={created.json()['id']}".encode()
    assert "X-Wc-Webhook-Signature" not in ping["headers"]
    summary = sim.scenario.create_order(channel="woocommerce", notify=False)
    sim.scenario.refund_order(
        channel="woocommerce",
        order_id=summary["id"],
        lines=[[summary["lines"][0]["id"], 1]],
    )
    delivery = receiver.wait_for(2)[1]
    headers = delivery["headers"]
    assert headers["X-Wc-Webhook-Topic"] == "order.updated"
    assert headers["X-Wc-Webhook-Resource"] == "order"
    assert headers["X-Wc-Webhook-Event"] == "updated"
    assert headers["X-Wc-Webhook-Signature"] == sign("s3", delivery["body"])
    assert b"\\/" in delivery["body"], "slashes escaped like wp_json_encode"
    payload = json.loads(delivery["body"])
    assert payload == woo(sim, "GET", f"orders/{summary['id']}").json()
    assert len(payload["refunds"]) == 1


def test_woocommerce_disables_a_webhook_after_the_failure_rule(sim, receiver):
    hook = woo_hook(sim, receiver, "order.created")
    receiver.statuses = [500] * 10
    for _index in range(7):
        sim.scenario.create_order(channel="woocommerce")
        sim.wait_for_webhooks_idle()
    state = sim.state.woo_webhooks[hook["id"]]
    assert state["status"] == "disabled", "7th consecutive failure: count was > 5"
    assert [d.attempt for d in sim.deliveries[1:]] == [1] * 7, "no retries"
    sim.scenario.create_order(channel="woocommerce")
    sim.wait_for_webhooks_idle()
    assert len(receiver.requests) == 8, "a disabled webhook receives nothing"


def test_woocommerce_failure_count_resets_on_success(sim, receiver):
    hook = woo_hook(sim, receiver, "order.created")
    receiver.statuses = [500] * 5 + [302] + [500] * 6
    for _index in range(12):
        sim.scenario.create_order(channel="woocommerce")
        sim.wait_for_webhooks_idle()
    assert sim.state.woo_webhooks[hook["id"]]["status"] == "active"
    assert sim.state.woo_webhooks[hook["id"]]["failure_count"] == 6


def woo_hook(sim, receiver, topic="order.updated"):
    hook = woo(
        sim, "POST", "webhooks", json={"topic": topic, "delivery_url": receiver.url}
    ).json()
    receiver.wait_for(1)  # the creation ping
    return hook


def wc_headers(request):
    return {k: v for k, v in request["headers"].items() if k.startswith("X-Wc-")}


def test_woocommerce_duplicate_fault_sends_the_same_delivery_twice(sim, receiver):
    woo_hook(sim, receiver)
    summary = sim.scenario.create_order(channel="woocommerce", notify=False)
    sim.scenario.inject("woocommerce_webhooks", "duplicate")
    sim.scenario.update_order(channel="woocommerce", order_id=summary["id"], note="x")
    first, second = receiver.wait_for(3)[1:]
    assert first["body"] == second["body"]
    assert wc_headers(first) == wc_headers(second)
    assert len(wc_headers(first)) == 7, "Source, Topic, Resource, Event, ..."
    sim.wait_for_webhooks_idle()
    sim.scenario.update_order(channel="woocommerce", order_id=summary["id"], note="y")
    sim.wait_for_webhooks_idle()
    assert len(receiver.requests) == 4, "the fault was used up"


def test_woocommerce_out_of_order_fault_delivers_the_older_update_last(sim, receiver):
    woo_hook(sim, receiver)
    summary = sim.scenario.create_order(channel="woocommerce", notify=False)
    sim.scenario.inject("woocommerce_webhooks", "out_of_order")
    for note in ("older", "newer"):
        sim.scenario.update_order(
            channel="woocommerce", order_id=summary["id"], note=note
        )
    seen = receiver.wait_for(3)[1:]
    assert [json.loads(r["body"])["customer_note"] for r in seen] == [
        "newer",
        "older",
    ]
    sim.wait_for_webhooks_idle()
    assert len(receiver.requests) == 3
