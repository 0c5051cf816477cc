"""End to end: the simulator's own webhook deliveries reach the real endpoint
over HTTP (pytest --odoo-http), are stored and then applied by the jobs."""

from unittest.mock import patch

from odoo.tests import HttpCase, tagged
from odoo.tools import config

from odoo.addons.queue_job.tests.common import trap_jobs

from ..const import JOB_CHANNEL_ORDERS
from .test_channel_http import SimulatorCommon

SIM_SHOPIFY_SECRET = "sim_shopify_secret"
SIM_WOO_SECRET = "sim_woo_secret"


class SimulatorWebhookCase(HttpCase, SimulatorCommon):
    """Backends wired to a fresh simulator whose webhooks reach this Odoo's
    real endpoint; the jobs they enqueue run on the test cursor."""

    def setUp(self):
        super().setUp()
        # A channel cannot send Odoo's session cookie: like production, the
        # database is chosen by dbfilter.
        dbfilter = {"dbfilter": f"^{self.env.cr.dbname}$"}
        self.enterContext(patch.dict(config._runtime_options, dbfilter))
        self.env["ir.config_parameter"].set_param("web.base.url", self.base_url())
        self.shopify.webhook_secret = SIM_SHOPIFY_SECRET
        self.woo.webhook_secret = SIM_WOO_SECRET
        self.Event = self.env["channel.event"]

    def _post(self, backend, headers, body):
        """One delivery to the backend's endpoint, as the channel sends it."""
        self.env.flush_all()  # the server thread reads the database
        response = self.url_open(
            f"/channel_connector/webhook/{backend.id}", data=body, headers=headers
        )
        self.env.invalidate_all()
        return response

    def _channel_sends(self, action):
        """Run `action` on the simulator and wait until its webhooks were
        answered; the jobs they enqueued are stored, not run."""
        self.env.flush_all()
        with self.allow_requests(all_requests=True):
            result = action()
            self.sim.wait_for_webhooks_idle(timeout=30)
        self.env.invalidate_all()
        return result

    def _channel_acts(self, action):
        """Like `_channel_sends`, then run the jobs the deliveries enqueued."""
        with trap_jobs() as trap:
            result = self._channel_sends(action)
            self._run_trapped(trap)
        if getattr(action, "__name__", "") == "_sync_webhook_subscriptions":
            # One mutation per topic: the test's own reads start on a full bucket.
            self.sim.bucket.refund(self.sim.bucket.size)
        return result

    def _run_trapped(self, trap):
        # Jobs trapped in the server thread hold its (closed) cursor: run them
        # on ours, including those they enqueue in turn.
        performed = 0
        while performed < len(trap.enqueued_jobs):
            job = trap.enqueued_jobs[performed]
            performed += 1
            records = job.recordset.with_env(self.env)
            getattr(records, job.method_name)(*job.args, **job.kwargs)

    def _events(self, backend, topic=None):
        domain = [("backend_id", "=", backend.id)]
        return self.Event.search(domain + ([("topic", "=", topic)] if topic else []))

    def _exceptions(self, backend, exception_type):
        return self.env["channel.exception"].search(
            [("backend_id", "=", backend.id), ("exception_type", "=", exception_type)]
        )

    def _order(self, channel, **options):
        return self.sim.scenario.create_order(
            channel=channel,
            lines=[("SIM-000001", 2), ("SIM-000002", 1)],
            tax_rate="0",
            shipping=None,
            **{"financial_status": "paid", **options},
        )

    def _sale_order(self, backend, order):
        return (
            self.env["channel.order.binding"]
            .search(
                [
                    ("backend_id", "=", backend.id),
                    ("external_ref", "=", str(order["id"])),
                ]
            )
            .sale_order_id
        )


@tagged("post_install", "-at_install")
class TestSimulatorWebhooks(SimulatorWebhookCase):
    catalogue_size = 3

    def test_shopify_order_webhooks_import_one_confirmed_order(self):
        self._channel_acts(self.shopify._sync_webhook_subscriptions)
        order = self._channel_acts(lambda: self._order("shopify"))
        statuses = {d.status for d in self.sim.deliveries}
        self.assertEqual(statuses, {200}, "every delivery acknowledged")
        created = self._events(self.shopify, "orders/create")
        self.assertEqual(created.state, "done")
        self.assertEqual(created.resource_ref, str(order["id"]))
        sale_order = self._sale_order(self.shopify, order)
        self.assertEqual(sale_order.state, "sale")
        self.assertEqual(sale_order.amount_total, float(order["total"]))

    def test_a_webhook_order_takes_one_job_from_delivery_to_sale_order(self):
        """The order's deliveries share one job on the orders channel, its
        stock reports (one per line) one more; the orders/create
        job alone imports the sale order, enqueuing nothing."""
        self._channel_acts(self.shopify._sync_webhook_subscriptions)
        with trap_jobs() as trap:
            order = self._channel_sends(lambda: self._order("shopify"))
            jobs = list(trap.enqueued_jobs)
            events = self._events(self.shopify)
            orders = events.filtered(lambda e: e.flow == "orders")
            self.assertEqual(len(jobs), 1 + bool(events - orders))
            self.assertEqual(
                sorted(j.recordset.id for j in jobs),
                sorted(events.filtered(lambda e: not e.joined_event_id).ids),
            )
            self.assertEqual(
                {j.channel for j in jobs if j.recordset.id in orders.ids},
                {JOB_CHANNEL_ORDERS},
            )
            created = self._events(self.shopify, "orders/create")
            job = next(j for j in jobs if j.recordset.id == created.id)
            result = created.with_env(self.env)._job_process()
            self.assertTrue(result.startswith("done"), result)
            self.assertEqual(set(orders.mapped("state")), {"done"})
            self.assertEqual(job.method_name, "_job_process")
            self.assertEqual(len(trap.enqueued_jobs), len(jobs), "nothing enqueued")
        self.assertEqual(self._sale_order(self.shopify, order).state, "sale")

    def test_duplicate_and_out_of_order_deliveries(self):
        self._channel_acts(self.shopify._sync_webhook_subscriptions)
        self.sim.scenario.inject("shopify_webhooks", "duplicate")
        order = self._channel_acts(lambda: self._order("shopify"))
        self.assertEqual(len(self._events(self.shopify, "orders/create")), 1)
        self.assertEqual(
            self._events(self.shopify, "orders/create").duplicates_prevented, 1
        )
        # The cancellation overtakes an earlier update: the older state never
        # overwrites the newer one.
        self.sim.scenario.inject("shopify_webhooks", "out_of_order")
        self._channel_acts(
            lambda: (
                self.sim.scenario.update_order("shopify", order["id"], note="gift"),
                self.sim.scenario.cancel_order("shopify", order["id"]),
            )
        )
        self.assertEqual(self._sale_order(self.shopify, order).state, "cancel")
        self.assertEqual(
            len(
                self.env["sale.order"].search(
                    [("client_order_ref", "=", order["name"])]
                )
            ),
            1,
        )

    def test_woocommerce_ping_and_order_webhook(self):
        self._channel_acts(self.woo._sync_webhook_subscriptions)
        pings = [d for d in self.sim.deliveries if d.topic == "ping"]
        self.assertEqual([d.status for d in pings], [200, 200], pings)
        self.assertFalse(self._events(self.woo), "the ping is stored nowhere")
        order = self._channel_acts(lambda: self._order("woocommerce"))
        self.assertEqual(self._events(self.woo, "order.created").state, "done")
        self.assertEqual(self._sale_order(self.woo, order).state, "sale")

    def test_echo_of_our_stock_write_is_ignored_channel_edits_are_kept(self):
        self._channel_acts(self.shopify._sync_webhook_subscriptions)
        ref, product = next(iter(self.catalogue.items()))
        self._channel_acts(lambda: self.shopify._job_export_stock(full=True))
        echoes = self._events(self.shopify, "inventory_levels/update")
        self.assertEqual(len(echoes), 3, "Shopify echoes each of our writes")
        self.assertEqual(set(echoes.mapped("state")), {"ignored"})
        level = self.env["channel.stock.level"].search(
            [("backend_id", "=", self.shopify.id), ("product_id", "=", product.id)]
        )
        self.assertEqual(level.channel_qty, 4)
        # A merchant edits the quantity in Shopify's admin: news, kept as the
        # figure the next compare-and-set starts from.
        self._channel_acts(lambda: self.sim.scenario.set_inventory(ref, 9))
        edit = self._events(self.shopify, "inventory_levels/update") - echoes
        self.assertEqual(edit.state, "done")
        self.assertEqual(level.channel_qty, 9)
        self.env["stock.quant"]._update_available_quantity(product, self.stock, -1)
        calls = self.sim.state.calls["inventorySetQuantities"]
        self._channel_acts(self.shopify._job_export_stock)
        self.assertEqual(
            self.sim.state.calls["inventorySetQuantities"], calls + 1, "not stale"
        )
        self.assertEqual(
            self.sim.state.mutations[-1]["quantities"][0]["changeFromQuantity"], 9
        )

    def test_paid_shopify_webhook_order_is_completed_through_graphql(self):
        """A webhook body has no transactions: the order is read by id before
        it is confirmed, so the payment carries the channel transaction id."""
        bank = self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", self.env.company.id)], limit=1
        )
        self.shopify.write(
            {"order_create_invoice": True, "order_register_payment": True}
        )
        self.env["channel.payment.mapping"].create(
            {
                "backend_id": self.shopify.id,
                "gateway": "shopify_payments",
                "journal_id": bank.id,
            }
        )
        self._channel_acts(self.shopify._sync_webhook_subscriptions)
        order = self._channel_acts(
            lambda: self._order("shopify", gateway="shopify_payments", high_risk=True)
        )
        self.assertEqual(self.sim.state.calls["order"], 1, "one GraphQL read")
        # The processor's reference (authorizationCode), which payouts carry.
        transaction = self.sim.state.shopify_orders[str(order["id"])]["transactions"][0]
        payment = self.env["account.payment"].search(
            [("memo", "=", transaction["authorization"])]
        )
        self.assertEqual(payment.journal_id, bank)
        self.assertAlmostEqual(payment.amount, float(order["total"]))
        sale_order = self._sale_order(self.shopify, order)
        self.assertTrue(sale_order.picking_ids)
        self.assertTrue(
            all(sale_order.picking_ids.mapped("channel_risk_hold")),
            "the risk comes from GraphQL only",
        )

    def test_replay_reads_the_current_order_from_the_channel(self):
        self._channel_acts(self.shopify._sync_webhook_subscriptions)
        order = self._channel_acts(
            lambda: self._order("shopify", financial_status="pending")
        )
        created = self._events(self.shopify, "orders/create")
        self.assertEqual(created.state, "ignored", "pending: wait for the payment")
        self.assertEqual(self.sim.state.calls["order"], 0, "the body was enough")
        self.assertFalse(self._sale_order(self.shopify, order))
        # The capture's webhook is lost; replaying the stored event imports
        # the order as it is now, paid.
        self.sim.scenario.capture_payment("shopify", order["id"], notify=False)
        self._channel_acts(created.action_replay)
        self.assertEqual(self.sim.state.calls["order"], 1)
        self.assertEqual(self._sale_order(self.shopify, order).state, "sale")
