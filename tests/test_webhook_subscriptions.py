"""Webhook subscriptions that heal themselves, against the channel simulator:
the hourly cron and its job, misrouted, disabled and paused subscriptions, and
subscriptions of other backends whose address only starts like ours."""

from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from ..const import JOB_CHANNEL_CATALOG
from .test_simulator_webhooks import SimulatorWebhookCase

WOO_TOPICS = ["order.created", "order.updated"]


@tagged("post_install", "-at_install")
class TestWebhookSubscriptionHealing(SimulatorWebhookCase):
    catalogue_size = 2

    def _woo_hooks(self, address=None):
        """{topic: [webhook]} of the simulated store, at `address` if given."""
        hooks = {}
        for hook in sorted(self.sim.state.woo_webhooks.values(), key=lambda h: h["id"]):
            if address is None or hook["delivery_url"] == address:
                hooks.setdefault(hook["topic"], []).append(hook)
        return hooks

    def _shopify_uris(self, topic):
        return sorted(
            s["uri"]
            for s in self.sim.state.shopify_webhooks.values()
            if s["topic"] == topic.upper().replace("/", "_")
        )

    def _run_sync_cron(self):
        """The hourly cron, then the jobs it enqueued (as the runner would)."""
        with trap_jobs() as trap:
            self.env["channel.backend"]._cron_sync_webhooks()
            jobs = list(trap.enqueued_jobs)
            self._channel_sends(lambda: self._run_trapped(trap))
        return jobs

    def test_cron_enqueues_one_check_per_connected_backend_that_heals(self):
        for state in ("draft", "error"):
            self._prepare_backend("woocommerce", api_url=self.sim.base_url, state=state)
        jobs = self._run_sync_cron()
        self.assertEqual(
            {(job.recordset, job.method_name) for job in jobs},
            {(self.shopify, "_job_sync_webhooks"), (self.woo, "_job_sync_webhooks")},
            "a draft or failing backend is not checked",
        )
        self.assertEqual({job.channel for job in jobs}, {JOB_CHANNEL_CATALOG})
        address = self.woo._get_webhook_address()
        self.assertEqual(sorted(self._woo_hooks(address)), WOO_TOPICS)
        self.assertEqual(
            self._shopify_uris("orders/create"), [self.shopify._get_webhook_address()]
        )
        # WooCommerce disables one after failed deliveries, one points at an
        # old host: the next hourly run repairs both.
        created, updated = (self._woo_hooks(address)[t][0] for t in WOO_TOPICS)
        created["status"], created["failure_count"] = "disabled", 6
        updated["delivery_url"] = "https://old-host.example/channel_connector/webhook/"
        updated["delivery_url"] += str(self.woo.id)
        self._run_sync_cron()
        hooks = self._woo_hooks()
        self.assertEqual(sorted(hooks), WOO_TOPICS)
        self.assertEqual(
            [h["delivery_url"] for t in WOO_TOPICS for h in hooks[t]], [address] * 2
        )
        self.assertEqual(
            [h["status"] for t in WOO_TOPICS for h in hooks[t]], ["active"] * 2
        )
        self.assertEqual(hooks["order.created"][0]["id"], created["id"], "re-activated")
        self.assertIn(
            "1 misrouted replaced, 1 re-activated", self.woo.webhook_check_message
        )

    def test_woocommerce_misrouted_webhook_is_replaced(self):
        self._channel_sends(self.woo._sync_webhook_subscriptions)
        hook = self._woo_hooks()["order.created"][0]
        hook["delivery_url"] = hook["delivery_url"].replace(
            self.base_url(), "https://old-host.example"
        )
        result = self._channel_sends(self.woo._sync_webhook_subscriptions)
        self.assertEqual(result["replaced"], ["order.created"])
        self.assertEqual(result["created"], ["order.created"])
        self.assertNotIn(hook["id"], self.sim.state.woo_webhooks, "old one deleted")
        address = self.woo._get_webhook_address()
        self.assertEqual(sorted(self._woo_hooks()), WOO_TOPICS)
        self.assertEqual(sorted(self._woo_hooks(address)), WOO_TOPICS)
        again = self._channel_sends(self.woo._sync_webhook_subscriptions)
        self.assertEqual(
            again, {"created": [], "replaced": [], "reactivated": [], "removed": []}
        )

    def test_woocommerce_disabled_and_paused_webhooks_are_reactivated(self):
        self.woo.webhook_secret = "rotated_secret"
        self._channel_sends(self.woo._sync_webhook_subscriptions)
        created, updated = (self._woo_hooks()[t][0] for t in WOO_TOPICS)
        created["status"], created["failure_count"] = "disabled", 6
        updated["status"] = "paused"
        created["secret"] = "secret_before_rotation"
        result = self._channel_sends(self.woo._sync_webhook_subscriptions)
        self.assertEqual(sorted(result["reactivated"]), WOO_TOPICS)
        self.assertEqual(result["created"], [], "the same webhooks, no new ones")
        self.assertEqual(len(self.sim.state.woo_webhooks), 2)
        self.assertEqual({created["status"], updated["status"]}, {"active"})
        self.assertEqual(created["secret"], "rotated_secret")
        # Deliveries flow again, signed with our current secret.
        self._channel_acts(
            lambda: self._order("woocommerce", financial_status="pending")
        )
        sent = [d.status for d in self.sim.deliveries if d.topic == "order.created"]
        self.assertEqual(sent, [200], "the signature matched")
        self.assertEqual(len(self._events(self.woo, "order.created")), 1)

    def test_woocommerce_webhooks_are_read_beyond_the_first_page(self):
        state = self.sim.state
        for index in range(105):  # another app's webhooks, listed first
            hook_id = state.new_id("woo_webhook", 0)
            state.woo_webhooks[hook_id] = {
                "id": hook_id,
                "name": f"Other app {index}",
                "topic": "order.created",
                "delivery_url": f"https://other-app.example/hook/{index}",
                "secret": "theirs",
                "status": "active",
                "failure_count": 0,
                "created_at": state.wall_clock(),
                "modified_at": state.wall_clock(),
            }
        first = self._channel_sends(self.woo._sync_webhook_subscriptions)
        self.assertEqual(sorted(first["created"]), WOO_TOPICS)
        ours = self._woo_hooks(self.woo._get_webhook_address())
        self.assertTrue(all(h["id"] > 105 for t in WOO_TOPICS for h in ours[t]))
        again = self._channel_sends(self.woo._sync_webhook_subscriptions)
        self.assertEqual(again["created"], [], "ours are on page 2")
        self.assertEqual(len(state.woo_webhooks), 107)

    def test_backend_12_subscription_is_not_taken_for_backend_1(self):
        """Our path is a prefix of another backend's (…/webhook/7 and
        …/webhook/71): the other backend's subscriptions are not ours."""
        shopify_other = self.shopify._get_webhook_address() + "1"
        woo_other = self.woo._get_webhook_address() + "1"
        self._channel_sends(
            lambda: (
                self.shopify._get_adapter(
                    priority="catalog"
                ).create_webhook_subscription("orders/create", shopify_other),
                self.woo._get_adapter(priority="catalog").create_webhook_subscription(
                    "order.created", woo_other
                ),
            )
        )
        shopify = self._channel_sends(self.shopify._sync_webhook_subscriptions)
        woo = self._channel_sends(self.woo._sync_webhook_subscriptions)
        self.assertEqual(shopify["replaced"], [])
        self.assertEqual(woo["replaced"], [])
        self.assertIn("orders/create", shopify["created"])
        self.assertEqual(sorted(woo["created"]), WOO_TOPICS)
        self.assertEqual(
            self._shopify_uris("orders/create"),
            sorted([self.shopify._get_webhook_address(), shopify_other]),
        )
        self.assertEqual(
            sorted(h["delivery_url"] for h in self._woo_hooks()["order.created"]),
            sorted([self.woo._get_webhook_address(), woo_other]),
        )

    def test_switching_a_flow_off_removes_its_subscriptions_in_a_job(self):
        """Stock export off: the inventory-level subscription goes, so the
        channel stops sending deliveries no flow uses; other apps' and other
        backends' subscriptions of that topic stay."""
        self._channel_sends(self.shopify._sync_webhook_subscriptions)
        other_app = "https://other-app.example/hooks/inventory"
        self._channel_sends(
            lambda: self.shopify._get_adapter(
                priority="catalog"
            ).create_webhook_subscription("inventory_levels/update", other_app)
        )
        ours = self.shopify._get_webhook_address()
        self.assertEqual(
            self._shopify_uris("inventory_levels/update"), sorted([ours, other_app])
        )
        with trap_jobs() as trap:
            self.shopify.export_stock = False
            trap.assert_jobs_count(1, only=self.shopify._job_sync_webhooks)
            self._channel_sends(lambda: self._run_trapped(trap))
        self.assertEqual(self._shopify_uris("inventory_levels/update"), [other_app])
        self.assertEqual(self._shopify_uris("orders/create"), [ours], "kept")
        self.assertIn("1 no longer needed removed", self.shopify.webhook_check_message)
        # Back on: subscribed again by the same path.
        with trap_jobs() as trap:
            self.shopify.export_stock = True
            self._channel_sends(lambda: self._run_trapped(trap))
        self.assertEqual(
            self._shopify_uris("inventory_levels/update"), sorted([ours, other_app])
        )

    def test_woocommerce_without_order_import_keeps_no_order_webhook(self):
        self._channel_sends(self.woo._sync_webhook_subscriptions)
        self.woo.import_orders = False
        result = self._channel_sends(self.woo._sync_webhook_subscriptions)
        self.assertEqual(sorted(result["removed"]), WOO_TOPICS)
        self.assertEqual(self._woo_hooks(self.woo._get_webhook_address()), {})

    def test_a_write_that_changes_no_topic_enqueues_nothing(self):
        with trap_jobs() as trap:
            self.shopify.write({"export_stock": True, "name": "Renamed"})
            self.shopify.reconcile_interval = 30
            trap.assert_jobs_count(0, only=self.shopify._job_sync_webhooks)
