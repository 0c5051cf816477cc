"""The addon against the channel simulator, over real HTTP on loopback."""

import math
from datetime import timedelta

from odoo import Command, fields
from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from simulator import ChannelSimulator

from ..adapters.transport import MAX_WAIT_IN_PLACE, BucketStatus
from .common import ChannelCommon


class SimulatorCommon(ChannelCommon):
    """Backends pointed at a fresh simulator per test (Odoo data rolls back
    after each test; the simulator's state must start over too)."""

    catalogue_size = 0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shopify = cls._prepare_backend(
            "shopify",
            shopify_access_token="shpat_sim_token",
            state="connected",
            order_read_from_channel=True,
            # Orders created by a test are pulled at once, not left to a
            # webhook (tests/test_event_coalescing.py tests the grace).
            reconcile_grace_minutes=0,
        )
        cls.woo = cls._prepare_backend(
            "woocommerce",
            woocommerce_consumer_key="ck_sim",
            woocommerce_consumer_secret="cs_sim",
            state="connected",
            order_read_from_channel=True,
            reconcile_grace_minutes=0,
        )
        cls.stock = (
            cls.env["stock.warehouse"]
            .search([("company_id", "=", cls.env.company.id)], limit=1)
            .lot_stock_id
        )
        cls.catalogue = cls._catalogue(cls.catalogue_size) if cls.catalogue_size else {}

    def setUp(self):
        super().setUp()
        self.sim = ChannelSimulator(seed=3, bucket_size=1000, restore_rate=100).start()
        self.addCleanup(self.sim.stop)
        self.sim.state.seed_catalogue(self.catalogue_size, quantity=0)
        (self.shopify | self.woo).api_url = self.sim.base_url

    def _reconcile(self, backend):
        """Run the reconciliation job, then the order imports it enqueued."""
        with trap_jobs() as trap:
            result = backend._job_reconcile_orders()
            trap.perform_enqueued_jobs()
        return result

    @classmethod
    def _catalogue(cls, count, quantity=4):
        """Variants as the simulator seeds them (ids 100001..., items 900001...),
        bound on both backends, with `quantity` on hand."""
        refs = [str(100000 + index) for index in range(1, count + 1)]
        products = cls.env["product.product"].create(
            [
                {
                    "name": f"Variant {ref}",
                    "default_code": f"SIM-{int(ref) - 100000:06d}",
                    "type": "consu",
                    "is_storable": True,
                }
                for ref in refs
            ]
        )
        for backend in (cls.shopify, cls.woo):
            cls.env["channel.product.binding"].create(
                [
                    {
                        "backend_id": backend.id,
                        "company_id": cls.env.company.id,
                        "product_id": product.id,
                        "external_ref": ref,
                        "inventory_item_ref": str(int(ref) + 800000),
                    }
                    for ref, product in zip(refs, products, strict=True)
                ]
            )
        cls.env["channel.stock.location"].create(
            [
                {
                    "backend_id": cls.shopify.id,
                    "name": "Main warehouse",
                    "location_ref": "1001",
                    "location_ids": [Command.set(cls.stock.ids)],
                },
                {
                    "backend_id": cls.woo.id,
                    "name": "Store",
                    "location_ref": "store",
                    "location_ids": [Command.set(cls.stock.ids)],
                },
            ]
        )
        for product in products:
            cls.env["stock.quant"]._update_available_quantity(
                product, cls.stock, quantity
            )
        return dict(zip(refs, products, strict=True))


@tagged("post_install", "-at_install")
class TestConnection(SimulatorCommon):
    def test_connection_test_reaches_both_channels(self):
        self.shopify.action_test_connection()
        self.assertEqual(self.shopify.state, "connected")
        self.assertIn("Simulated shop", self.shopify.state_message)
        self.woo.action_test_connection()
        self.assertEqual(self.woo.state, "connected")

    def test_wrong_token_is_an_auth_error(self):
        self.shopify.shopify_access_token = "revoked"
        self.shopify.action_test_connection()
        self.assertEqual(self.shopify.state, "error")
        self.assertIn("refused the credentials", self.shopify.state_message)


@tagged("post_install", "-at_install")
class TestStockPush(SimulatorCommon):
    catalogue_size = 260

    def _shopify_level(self, ref):
        item = self.sim.state.variants[ref]["inventory_item"]
        return self.sim.state.levels[(item, "1001")]

    def test_full_export_takes_ceil_n_over_limit_calls(self):
        calls = self.sim.state.calls
        shopify_before, woo_before = (
            calls["inventorySetQuantities"],
            calls["POST products"],
        )
        self.shopify._job_export_stock(full=True)
        self.assertEqual(
            calls["inventorySetQuantities"] - shopify_before, math.ceil(260 / 250)
        )
        self.assertTrue(all(self._shopify_level(ref) == 4 for ref in self.catalogue))
        self.woo._job_export_stock(full=True)
        self.assertEqual(calls["POST products"] - woo_before, math.ceil(260 / 100))
        products = self.sim.state.woo_products
        self.assertTrue(
            all(products[ref]["stock_quantity"] == 4 for ref in self.catalogue)
        )

    def test_delta_sends_only_the_changes(self):
        self.shopify._job_export_stock(full=True)
        before = self.sim.state.calls["inventorySetQuantities"]
        changed = list(self.catalogue.items())[:3]
        for _ref, product in changed:
            self.env["stock.quant"]._update_available_quantity(product, self.stock, -1)
        result = self.shopify._job_export_stock()
        self.assertIn("sent 3 in 1 calls", result)
        self.assertEqual(self.sim.state.calls["inventorySetQuantities"], before + 1)
        self.assertEqual(self._shopify_level(changed[0][0]), 3)
        self.assertEqual(len(self.sim.state.mutations[-1]["quantities"]), 3)

    def test_throttled_storm_ends_with_all_quantities_set(self):
        self.sim.state.inject("shopify", "throttled", 3)
        self.sim.state.inject("woocommerce", "429", 2)
        self.shopify._job_export_stock(full=True)  # no exception: waited out
        self.woo._job_export_stock(full=True)
        self.assertTrue(all(self._shopify_level(ref) == 4 for ref in self.catalogue))
        products = self.sim.state.woo_products
        self.assertTrue(
            all(products[ref]["stock_quantity"] == 4 for ref in self.catalogue)
        )

    def test_concurrent_sale_on_the_channel_is_not_overwritten_blindly(self):
        self.shopify._job_export_stock(full=True)
        ref, product = next(iter(self.catalogue.items()))
        self.sim.state.sell_on_channel(ref, "1001", 1)  # channel now has 3
        self.env["stock.quant"]._update_available_quantity(product, self.stock, 5)
        self.shopify._job_export_stock()
        # The first write was refused as stale; re-read, then set from 3 to 9.
        self.assertEqual(self._shopify_level(ref), 9)
        last = self.sim.state.mutations[-1]["quantities"][0]
        self.assertEqual(last["changeFromQuantity"], 3)


@tagged("post_install", "-at_install")
class TestWebhookSubscriptions(SimulatorCommon):
    def test_missing_subscriptions_are_created_once(self):
        result = self.shopify._sync_webhook_subscriptions()
        self.assertEqual(
            sorted(result["created"]),
            [
                "app/uninstalled",
                "disputes/create",
                "disputes/update",
                "fulfillments/create",
                "fulfillments/update",
                "inventory_levels/update",
                "orders/cancelled",
                "orders/create",
                "orders/edited",
                "orders/updated",
                "refunds/create",
                "returns/approve",
                "returns/cancel",
                "returns/decline",
            ],
        )
        again = self.shopify._sync_webhook_subscriptions()
        self.assertEqual(again["created"], [])
        addresses = {s["uri"] for s in self.sim.state.shopify_webhooks.values()}
        self.assertEqual(addresses, {self.shopify._get_webhook_address()})

    def test_misrouted_subscription_is_replaced(self):
        self.shopify._sync_webhook_subscriptions()
        node = next(iter(self.sim.state.shopify_webhooks.values()))
        path = node["uri"].split("/", 3)[3]
        node["uri"] = f"https://old-host.example/{path}"
        result = self.shopify._sync_webhook_subscriptions()
        self.assertEqual(len(result["replaced"]), 1)
        topics = self.shopify._get_required_webhook_topics()
        self.assertEqual(len(self.sim.state.shopify_webhooks), len(topics))


@tagged("post_install", "-at_install")
class TestReconciliationPull(SimulatorCommon):
    catalogue_size = 2

    def test_pull_imports_an_order_whose_webhook_was_dropped(self):
        self.shopify._get_sync_status("order_pull").last_run_at = (
            fields.Datetime.now() - timedelta(hours=1)
        )
        order = self.sim.scenario.create_order(
            channel="shopify",
            notify=False,  # the webhook never arrives
            lines=[("SIM-000001", 2)],
            tax_rate="0",
            shipping=None,
            customer="guest",
            financial_status="paid",
        )
        result = self._reconcile(self.shopify)
        self.assertIn("1 orders pulled, 1 without webhook", result)
        binding = self.env["channel.order.binding"].search(
            [
                ("backend_id", "=", self.shopify.id),
                ("external_ref", "=", str(order["id"])),
            ]
        )
        self.assertEqual(binding.sale_order_id.state, "sale")
        self.assertEqual(
            binding.sale_order_id.amount_total, float(order["total"]), "to the cent"
        )
        gap = self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.shopify.id),
                ("exception_type", "=", "delivery_gap"),
            ]
        )
        self.assertIn("1 of the 1 orders", gap.name)
        self.assertIn(order["name"], gap.technical_detail)
        # The next pull meets the same version again: nothing is imported twice.
        self.shopify._get_sync_status("order_pull").last_run_at = (
            fields.Datetime.now() - timedelta(hours=1)
        )
        self._reconcile(self.shopify)
        orders = self.env["sale.order"].search(
            [("client_order_ref", "=", order["name"])]
        )
        self.assertEqual(len(orders), 1)

    def test_pull_leaves_an_order_whose_delivery_waits_in_the_inbox(self):
        """During a burst the reconciliation meets orders whose webhook is
        stored but not processed yet: their own job imports them (make
        bench-e2e saw the pull read and import most of a burst a second way)."""
        self.shopify._get_sync_status("order_pull").last_run_at = (
            fields.Datetime.now() - timedelta(hours=1)
        )
        spec = {
            "channel": "shopify",
            "notify": False,
            "lines": [("SIM-000001", 1)],
            "tax_rate": "0",
            "shipping": None,
            "customer": "guest",
            "financial_status": "paid",
        }
        waiting = self.sim.scenario.create_order(**spec)
        lost = self.sim.scenario.create_order(**spec)
        self.env["channel.event"].create(
            {
                "backend_id": self.shopify.id,
                "topic": "orders/create",
                "dedupe_key": f"test:{waiting['id']}",
                "resource_ref": str(waiting["id"]),
                "state": "queued",
            }
        )
        result = self._reconcile(self.shopify)
        self.assertIn("2 orders pulled, 1 without webhook", result)
        imported = self.env["channel.order.binding"].search(
            [("backend_id", "=", self.shopify.id)]
        )
        self.assertEqual(imported.mapped("external_ref"), [str(lost["id"])])

    def test_pull_brings_an_order_whose_refund_waits_for_it(self):
        """A refund (or dispute) delivery waits for its order: it does not
        import it, so it must not keep the pull from bringing the order."""
        self.shopify._get_sync_status("order_pull").last_run_at = (
            fields.Datetime.now() - timedelta(hours=1)
        )
        order = self.sim.scenario.create_order(
            channel="shopify",
            notify=False,
            lines=[("SIM-000001", 1)],
            tax_rate="0",
            shipping=None,
            customer="guest",
            financial_status="paid",
        )
        self.env["channel.event"].create(
            {
                "backend_id": self.shopify.id,
                "topic": "refunds/create",
                "dedupe_key": f"test:refund:{order['id']}",
                "resource_ref": str(order["id"]),
                "state": "queued",
            }
        )
        self._reconcile(self.shopify)
        imported = self.env["channel.order.binding"].search(
            [("backend_id", "=", self.shopify.id)]
        )
        self.assertEqual(imported.mapped("external_ref"), [str(order["id"])])


@tagged("post_install", "-at_install")
class TestSharedBudget(SimulatorCommon):
    """The budget lives on its own cursors; in tests they share the test one."""

    catalogue_size = 3

    def setUp(self):
        super().setUp()
        self.enterContext(self.enter_registry_test_mode())

    def test_budget_is_fed_by_channel_responses(self):
        self.shopify._job_export_stock(full=True)
        budget = self.env["channel.api.budget"].search(
            [("backend_id", "=", self.shopify.id)]
        )
        self.assertEqual(budget.maximum, 1000)
        self.assertEqual(budget.restore_rate, 100)
        self.assertLess(budget.available, 1000)

    def test_lower_priorities_leave_room_for_orders(self):
        now = [1000.0]
        waits = {"orders": [], "stock": [], "catalog": []}

        def budget(priority):
            return self.env["channel.api.budget"]._for_backend(
                self.shopify,
                priority,
                clock=lambda: now[0],
                sleep=waits[priority].append,
            )

        # One worker's order calls left 25 of 100 points (10 points/s refill).
        budget("orders").after(BucketStatus(maximum=100, available=25, restore_rate=10))
        for priority in waits:  # other workers, same account, one after another
            budget(priority).before(10)
        self.assertEqual(waits["orders"], [])  # 25 - 10: 15 left
        # Behind the order call: 10 + 20 % floor - 15 = 15 points to wait for.
        self.assertEqual(waits["stock"], [1.5])
        # Behind both: the stock call leaves 20 at 1001.5, so 5 now; 10 + 40 %
        # floor - 5 = 45 points.
        self.assertEqual(waits["catalog"], [4.5])
        now[0] += 3  # the catalogue call left 40 at 1004.5, so 25 at 1003
        budget("catalog").before(10)
        self.assertEqual(waits["catalog"], [4.5, 2.5])

    def test_workers_of_one_account_take_turns_at_the_restore_rate(self):
        now = [1000.0]
        waits = []

        def worker():
            return self.env["channel.api.budget"]._for_backend(
                self.shopify, "orders", clock=lambda: now[0], sleep=waits.append
            )

        worker().after(BucketStatus(maximum=100, available=20, restore_rate=10))
        first, second = worker(), worker()
        for budget in (first, second, first, second, first):
            budget.before(10)
        # 20 points for two calls, then one call per second: never more than
        # the bucket gives, however the workers interleave.
        self.assertEqual(waits, [1.0, 2.0, 3.0])
        now[0] += 3  # the last turn was at 1003
        second.before(10)
        self.assertEqual(waits, [1.0, 2.0, 3.0, 1.0], "back to the restore rate")

    def test_absurd_waits_never_block_the_account_for_long(self):
        now = [1000.0]
        waits = []
        budget = self.env["channel.api.budget"]._for_backend(
            self.shopify, "orders", clock=lambda: now[0], sleep=waits.append
        )
        for retry_after in (math.inf, 1e308, math.nan, -30):
            budget.throttled(retry_after)
        row = self.env["channel.api.budget"].search(
            [("backend_id", "=", self.shopify.id)]
        )
        self.assertLessEqual(row.blocked_until, now[0] + 300)
        budget.after(BucketStatus(maximum=math.inf, available=0, restore_rate=-5))
        now[0] += 400
        budget.before(10)
        self.assertTrue(all(0 <= wait <= MAX_WAIT_IN_PLACE for wait in waits), waits)
