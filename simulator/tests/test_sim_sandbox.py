"""The sandbox traffic that `make run` drives through the simulator."""

import pytest

from simulator import ChannelSimulator
from simulator.sandbox import CATALOGUE_SIZE, UNMAPPED_SKU, SandboxTraffic
from simulator.testing import graphql, woo

SUBSCRIBE = """mutation($uri: String!) {
  webhookSubscriptionCreate(topic: ORDERS_CREATE, webhookSubscription: {uri: $uri}) {
    userErrors { message }
  }
}"""


@pytest.fixture
def bare_sim(clock):
    """A simulator with an empty catalogue, as `make run` first starts it."""
    simulator = ChannelSimulator(seed=7, clock=clock, retry_time_scale=0.0005).start()
    yield simulator
    simulator.stop()


def test_waits_until_odoo_subscribed_and_answers(bare_sim, receiver):
    traffic = SandboxTraffic(bare_sim)
    assert not traffic.subscribed()
    response = woo(
        bare_sim,
        "POST",
        "webhooks",
        json={"topic": "order.created", "delivery_url": receiver.url},
    )
    assert response.status_code == 201
    assert not traffic.subscribed(), "no Shopify subscription yet"
    body = graphql(bare_sim, SUBSCRIBE, {"uri": receiver.url}).json()
    assert not body["data"]["webhookSubscriptionCreate"]["userErrors"]
    assert traffic.subscribed()
    receiver.stop()
    assert not traffic.subscribed(), "Odoo does not answer"


def test_steps_mix_orders_unknown_skus_cancellations_and_risk(bare_sim):
    traffic = SandboxTraffic(bare_sim)
    traffic.seed_catalogue()
    traffic.seed_catalogue()  # a restored scenario is not seeded twice
    assert len(bare_sim.state.variants) == CATALOGUE_SIZE
    lines = [traffic.step() for _ in range(11)]
    assert "SKU unknown to Odoo" in lines[4]
    assert "cancelled" in lines[6]
    assert "high-risk" in lines[10]
    assert {line.split(":")[0] for line in lines} == {"shopify", "woocommerce"}
    state = bare_sim.state
    orders = [*state.shopify_orders.values(), *state.woo_orders.values()]
    assert len(orders) == 10
    unknown = [o for o in orders if any(x["sku"] == UNMAPPED_SKU for x in o["lines"])]
    assert len(unknown) == 2  # steps 5 and 10
    assert sum(o["cancelled_at"] is not None for o in orders) == 1


def test_deterministic_from_the_seed(clock):
    runs = []
    for _run in range(2):
        with ChannelSimulator(seed=7, clock=clock) as simulator:
            traffic = SandboxTraffic(simulator)
            traffic.seed_catalogue()
            runs.append([traffic.step() for _ in range(6)])
    assert runs[0] == runs[1]


def test_amazon_orders_come_merchant_and_amazon_fulfilled(sim):
    from simulator.sandbox import SandboxTraffic

    traffic = SandboxTraffic(sim)
    described = [traffic.amazon_step() for _ in range(3)]
    assert [d.split()[1] for d in described] == ["MFN", "MFN", "AFN"]
    channels = [e["order"]["FulfillmentChannel"] for e in sim.amazon.orders.values()]
    assert channels == ["MFN", "MFN", "AFN"]


def test_a_restored_scenario_never_reuses_an_amazon_order_id(make_sim):
    from simulator.sandbox import SandboxTraffic

    first = make_sim()
    SandboxTraffic(first).amazon_step()
    again = make_sim()
    again.scenario.restore(first.scenario.snapshot())
    SandboxTraffic(again).amazon_step()
    assert len(again.amazon.orders) == 2
