"""Sandbox traffic: a steady trickle of channel activity for `make run`.

The sandbox (README, "Sandbox") connects demo backends to a simulator; this
module keeps that simulator busy the way a small shop is: orders on Shopify
and WooCommerce from new, repeat and guest customers, now and then an Amazon
order (merchant- or Amazon-fulfilled, polled by Odoo), a cancellation,
a high-risk order, and an order for the one variant Odoo does not know
(`UNMAPPED_SKU`), so that exceptions appear for the ops team to practise on.
Deterministic from the seed; nothing is sent before Odoo has subscribed.
"""

import random
import threading
import urllib.request
from urllib.parse import urlsplit

# The sandbox catalogue: SKUs SIM-000001 .. SIM-000012; Odoo gets a product
# for every one but the last.
CATALOGUE_SIZE = 12
UNMAPPED_SKU = f"SIM-{CATALOGUE_SIZE:06d}"
CHANNELS = ("shopify", "woocommerce")
CUSTOMERS = ("new", "repeat", "repeat", "guest")


class SandboxTraffic:
    """Generates one channel action per `step()`; `start()` runs it every
    `interval` seconds in a thread once both channels have subscriptions."""

    def __init__(self, sim, interval=15.0, seed=7):
        self.sim = sim
        self.interval = interval
        self.random = random.Random(seed)
        self.steps = 0
        self.last_order = {}  # channel -> id of the last order created there
        self.amazon_orders = 0
        self._stopped = threading.Event()
        self._thread = None

    def seed_catalogue(self):
        """The sandbox catalogue, unless a restored scenario already has one."""
        if not self.sim.state.variants:
            self.sim.scenario.seed_catalogue(count=CATALOGUE_SIZE, quantity=25)

    def subscribed(self):
        """Whether Odoo has registered its webhooks on both channels and
        answers at their address (WooCommerce never retries a delivery)."""
        state = self.sim.state
        if not (state.shopify_webhooks and state.woo_webhooks):
            return False
        address = urlsplit(next(iter(state.woo_webhooks.values()))["delivery_url"])
        try:
            with urllib.request.urlopen(
                f"{address.scheme}://{address.netloc}/web/health", timeout=2
            ) as response:
                return response.status == 200
        except OSError:
            return False

    def step(self):
        """One merchant-visible action; returns a one-line description."""
        self.steps += 1
        channel = CHANNELS[self.steps % 2]
        if self.steps % 7 == 0 and channel in self.last_order:
            order_id = self.last_order.pop(channel)
            self.sim.scenario.cancel_order(channel, order_id)
            return f"{channel}: order {order_id} cancelled by the customer"
        skus = self._mapped_skus()
        lines = [
            (sku, self.random.randint(1, 3))
            for sku in self.random.sample(skus, self.random.randint(1, 3))
        ]
        label = "order"
        if self.steps % 5 == 0:
            lines.append((UNMAPPED_SKU, 1))
            label = "order with a SKU unknown to Odoo"
        high_risk = self.steps % 11 == 0
        if high_risk:
            label = "high-risk order"
        summary = self.sim.scenario.create_order(
            channel=channel,
            lines=lines,
            customer=self.random.choice(CUSTOMERS),
            high_risk=high_risk,
        )
        self.last_order[channel] = summary["id"]
        return f"{channel}: {label} {summary['id']} ({len(lines)} lines)"

    def amazon_step(self):
        """An Amazon order (Odoo polls for it): merchant-fulfilled, or every
        third one fulfilled by Amazon; returns a one-line description."""
        self.amazon_orders += 1
        fulfillment = "AFN" if self.amazon_orders % 3 == 0 else "MFN"
        lines = [
            {
                "sku": sku,
                "quantity": self.random.randint(1, 2),
                "price": "10.00",
                "tax": "0.80",
            }
            for sku in self.random.sample(self._mapped_skus(), 1)
        ]
        order = self.sim.scenario.create_amazon_order(lines, fulfillment=fulfillment)
        return f"amazon: {fulfillment} order {order['id']}"

    def _mapped_skus(self):
        return sorted(
            v["sku"]
            for v in self.sim.state.variants.values()
            if v["sku"] != UNMAPPED_SKU
        )

    def start(self, log=print):
        self._thread = threading.Thread(
            target=self._run, args=(log,), name="sandbox-traffic", daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        self._stopped.set()
        if self._thread:
            self._thread.join(10)

    def _run(self, log):
        while not self._stopped.wait(1.0):
            if self.subscribed():
                break
        log("sandbox: Odoo subscribed; channel traffic starts")
        while not self._stopped.is_set():
            log(f"sandbox: {self.step()}")
            if self.steps % 4 == 0:
                log(f"sandbox: {self.amazon_step()}")
            self._stopped.wait(self.interval)
