"""Amazon (SP-API) over real HTTP against the simulator's stand-in: LWA
tokens, marketplaces, orders polled page by page within the per-operation
rate limits, MFN and FBA orders at Amazon's totals."""

import time
from decimal import Decimal

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from simulator.server import AMAZON_CREDENTIALS

from .test_channel_http import SimulatorCommon

CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN = AMAZON_CREDENTIALS
US = "ATVPDKIKX0DER"


class AmazonCase(HttpCase, SimulatorCommon):
    """An Amazon backend on the simulator, its marketplaces read."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.amazon = cls._prepare_backend(
            "amazon",
            amazon_lwa_client_id=CLIENT_ID,
            amazon_lwa_client_secret=CLIENT_SECRET,
            amazon_refresh_token=REFRESH_TOKEN,
            state="connected",
            order_read_from_channel=True,
        )
        cls.products = cls.env["product.product"].create(
            [
                {
                    "name": f"Amazon item {index}",
                    "default_code": f"AMZ-{index}",
                    "type": "consu",
                    "is_storable": True,
                }
                for index in range(1, 4)
            ]
        )
        for product in cls.products:
            cls.env["stock.quant"]._update_available_quantity(product, cls.stock, 50)

    def setUp(self):
        super().setUp()
        self.amazon.write(
            {"api_url": self.sim.base_url, "amazon_lwa_url": self.sim.base_url}
        )
        self.amazon.action_amazon_sync_marketplaces()
        self.amazon.marketplace_ids.filtered(
            lambda m: m.external_ref != US
        ).import_orders = False

    def _poll(self):
        """The polling job, then the one import job per order it enqueued."""
        with trap_jobs() as trap:
            result = self.amazon._job_reconcile_orders()
            trap.perform_enqueued_jobs()
        self.env.invalidate_all()
        return result

    def _sale_order(self, order_id):
        return (
            self.env["channel.order.binding"]
            .search(
                [("backend_id", "=", self.amazon.id), ("external_ref", "=", order_id)]
            )
            .sale_order_id
        )

    @staticmethod
    def _line(sku, quantity=1, price="10.00", tax="0.00", **extra):
        return {"sku": sku, "quantity": quantity, "price": price, "tax": tax, **extra}


@tagged("post_install", "-at_install")
class TestAmazonAccount(AmazonCase):
    def test_marketplaces_of_the_account_become_records(self):
        marketplaces = self.amazon.marketplace_ids
        self.assertEqual(
            sorted(marketplaces.mapped("external_ref")), ["A2EUQ1WTGCTBG2", US]
        )
        us = marketplaces.filtered(lambda m: m.external_ref == US)
        self.assertEqual(us.country_id.code, "US")
        self.assertEqual(us.name, "Amazon.com")
        self.assertTrue(us.participating and us.import_orders)
        # Read again: the operator's choice stays.
        self.amazon.action_amazon_sync_marketplaces()
        self.assertEqual(len(self.amazon.marketplace_ids), 2)
        self.assertEqual(self.amazon.marketplace_ids.filtered("import_orders"), us)

    def test_only_managers_read_marketplaces_and_credentials(self):
        with self.assertRaises(AccessError):
            self.amazon.with_user(self.ops_user).action_amazon_sync_marketplaces()
        with self.assertRaises(AccessError):
            self.amazon.with_user(self.ops_user).read(["amazon_refresh_token"])
        with self.assertRaises(AccessError):
            self.amazon.with_user(self.ops_user).read(["amazon_lwa_client_secret"])

    def test_connection_test_names_the_marketplaces(self):
        self.assertTrue(self.amazon._check_connection(), self.amazon.state_message)
        self.assertIn("Amazon.com", self.amazon.state_message)

    def test_wrong_refresh_token_is_a_clear_auth_error_without_secrets(self):
        self.amazon.amazon_refresh_token = "Atzr|revoked-secret"
        self.sim.amazon.expire_tokens()  # the last access token ran out
        self.assertFalse(self.amazon._check_connection())
        self.assertEqual(self.amazon.state, "error")
        self.assertIn("refresh token", self.amazon.state_message)
        self.assertNotIn("revoked-secret", self.amazon.state_message)

    def test_the_token_is_shared_and_secrets_never_logged(self):
        with self.assertLogs("odoo.addons.channel_connector", "DEBUG") as logs:
            self.amazon._check_connection()
            self.amazon._check_connection()
        self.assertEqual(
            self.sim.amazon.token_requests, 1, "the stored token is reused"
        )
        self.env.invalidate_all()
        stored = self.env["channel.access.token"].search(
            [("backend_id", "=", self.amazon.id)]
        )
        self.assertTrue(stored.token.startswith("Atza|"))
        self.assertGreater(stored.expires_at, time.time() + 3000)
        output = "\n".join(logs.output)
        for secret in (stored.token, CLIENT_SECRET, REFRESH_TOKEN):
            self.assertNotIn(secret, output)


@tagged("post_install", "-at_install")
class TestAmazonOrders(AmazonCase):
    def test_mfn_order_is_imported_at_amazons_total_without_facilitator_tax(self):
        order_id = self.sim.amazon.add_order(
            [
                self._line(
                    "AMZ-1", 2, "19.99", "3.20", promotion="5.00", promotion_tax="0.40"
                ),
                self._line("AMZ-2", 1, "10.00", "0.80"),
            ],
            shipping="4.99",
            shipping_tax="0.40",
        )
        self._poll()
        sale_order = self._sale_order(order_id)
        self.assertEqual(sale_order.state, "sale")
        # Amazon's OrderTotal: 39.98 - 5.00 + 10.00 + 4.99 + 3.20 - 0.40 + 0.80
        # + 0.40 = 53.97; Amazon keeps the 4.00 of tax it collects.
        amazon_total = Decimal(
            self.sim.amazon.orders[order_id]["order"]["OrderTotal"]["Amount"]
        )
        self.assertEqual(amazon_total, Decimal("53.97"))
        self.assertAlmostEqual(sale_order.amount_total, 49.97, places=2)
        self.assertEqual(sale_order.amount_tax, 0.0)
        self.assertIn("4.00 USD", str(sale_order.note))
        self.assertEqual(sale_order.client_order_ref, order_id)
        picking = sale_order.picking_ids
        self.assertEqual(picking.location_id, self.stock)
        self.assertNotEqual(picking.state, "done", "the merchant ships it")
        self.assertFalse(
            self.env["channel.exception"].search([("backend_id", "=", self.amazon.id)])
        )

    def test_fba_order_is_delivered_from_amazons_warehouse(self):
        fba = self.env["stock.warehouse"].create({"name": "Amazon FBA", "code": "FBA"})
        self.amazon.amazon_fba_warehouse_id = fba
        product = self.products[0]
        own_before = product.with_context(location=self.stock.id).qty_available
        order_id = self.sim.amazon.add_order(
            [self._line("AMZ-1", 3, "12.50", "3.00")], fulfillment="AFN"
        )
        self._poll()
        sale_order = self._sale_order(order_id)
        self.assertEqual(sale_order.warehouse_id, fba)
        self.assertAlmostEqual(sale_order.amount_total, 37.50, places=2)
        picking = sale_order.picking_ids
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.location_id, fba.lot_stock_id)
        self.assertEqual(sale_order.order_line[0].qty_delivered, 3)
        self.assertEqual(
            product.with_context(location=self.stock.id).qty_available, own_before
        )

    def test_seller_collected_tax_is_on_the_order(self):
        self.env["channel.tax.mapping"].create(
            {
                "backend_id": self.amazon.id,
                "title": "Amazon tax",
                "rate": 8.0,
                "tax_id": self.env["account.tax"]
                .create({"name": "Sales tax 8%", "amount": 8.0, "type_tax_use": "sale"})
                .id,
            }
        )
        order_id = self.sim.amazon.add_order(
            [self._line("AMZ-2", 1, "25.00", "2.00")], facilitator=False
        )
        self._poll()
        sale_order = self._sale_order(order_id)
        self.assertAlmostEqual(sale_order.amount_total, 27.00, places=2)
        self.assertAlmostEqual(sale_order.amount_tax, 2.00, places=2)

    def test_pending_order_waits_then_imports_and_cancellation_cancels(self):
        order_id = self.sim.amazon.add_order([self._line("AMZ-3")], status="Pending")
        self._poll()
        self.assertFalse(self._sale_order(order_id), "payment not authorized yet")
        self.sim.amazon.update_order(order_id, OrderStatus="Unshipped")
        self._poll()
        sale_order = self._sale_order(order_id)
        self.assertEqual(sale_order.state, "sale")
        self.assertAlmostEqual(sale_order.amount_total, 10.0, places=2)
        self.sim.amazon.update_order(order_id, OrderStatus="Canceled")
        self._poll()
        self.assertEqual(sale_order.state, "cancel")

    def test_polling_records_no_delivery_gap(self):
        self.sim.amazon.add_order([self._line("AMZ-1")])
        self._poll()
        gaps = self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.amazon.id),
                ("exception_type", "=", "delivery_gap"),
            ]
        )
        self.assertFalse(gaps, "Amazon has no webhooks: nothing went missing")

    def test_unknown_sku_is_a_missing_mapping_not_a_loss(self):
        order_id = self.sim.amazon.add_order([self._line("NOT-IN-ODOO")])
        self._poll()
        self.assertFalse(self._sale_order(order_id).state == "sale")
        exception = self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.amazon.id),
                ("exception_type", "=", "missing_mapping"),
            ]
        )
        self.assertIn(
            "NOT-IN-ODOO", exception.name + (exception.technical_detail or "")
        )


@tagged("post_install", "-at_install")
class TestAmazonShipments(AmazonCase):
    def _ship(self, picking, tracking="1Z999AA10123456784"):
        """Validate the delivery in full with `tracking`; run the jobs."""
        picking.carrier_tracking_ref = tracking
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
            move.picked = True
        with trap_jobs() as trap:
            picking._action_done()
            trap.perform_enqueued_jobs()
        self.env.invalidate_all()

    def test_mfn_delivery_is_confirmed_with_its_tracking_once(self):
        order_id = self.sim.amazon.add_order([self._line("AMZ-1", 2)])
        self._poll()
        picking = self._sale_order(order_id).picking_ids
        self._ship(picking)
        entry = self.sim.amazon.orders[order_id]
        self.assertEqual(entry["order"]["OrderStatus"], "Shipped")
        [package] = entry["packages"]
        self.assertEqual(package["trackingNumber"], "1Z999AA10123456784")
        self.assertEqual(package["packageReferenceId"], str(picking.id))
        self.assertEqual(package["orderItems"][0]["quantity"], 2)
        fulfilment = self.env["channel.fulfilment"].search(
            [("picking_id", "=", picking.id)]
        )
        self.assertEqual(fulfilment.state, "done")
        fulfilment._job_push()  # a replay confirms nothing twice
        self.assertEqual(len(entry["packages"]), 1)

    def test_a_delivery_without_tracking_is_an_exception_not_a_loss(self):
        order_id = self.sim.amazon.add_order([self._line("AMZ-1")])
        self._poll()
        picking = self._sale_order(order_id).picking_ids
        self._ship(picking, tracking=False)
        self.assertNotIn("packages", self.sim.amazon.orders[order_id])
        exception = self.env["channel.exception"].search(
            [("backend_id", "=", self.amazon.id)]
        )
        self.assertIn("tracking", exception.technical_detail or exception.name)

    def test_fba_delivery_confirms_nothing_to_amazon(self):
        fba = self.env["stock.warehouse"].create({"name": "Amazon FBA", "code": "FBA"})
        self.amazon.amazon_fba_warehouse_id = fba
        order_id = self.sim.amazon.add_order([self._line("AMZ-1")], fulfillment="AFN")
        self._poll()
        self.assertEqual(self._sale_order(order_id).picking_ids.state, "done")
        self.assertEqual(self.sim.state.calls["amazon confirmShipment"], 0)
        self.assertFalse(
            self.env["channel.exception"].search([("backend_id", "=", self.amazon.id)])
        )


@tagged("post_install", "-at_install")
class TestAmazonPolling(AmazonCase):
    def test_a_post_to_the_webhook_address_is_not_found(self):
        # No backend of a channel without webhooks receives deliveries.
        self.env.flush_all()
        response = self.url_open(
            f"/channel_connector/webhook/{self.amazon.id}",
            data=b'{"orderId": "1"}',
            headers={"Content-Type": "application/json"},
        )
        self.env.invalidate_all()
        self.assertEqual(response.status_code, 404)
        self.assertFalse(
            self.env["channel.event"].search([("backend_id", "=", self.amazon.id)])
        )

    def test_250_orders_page_within_the_rate_limits_every_429_handled(self):
        # Amazon's protocol at 10 times its rates (5 reads a second), the
        # read buckets emptied once the page jobs are queued: the first read
        # is throttled, the others paced by the waits the 429s asked for.
        self.sim.amazon.set_rate_scale(10)
        ids = [
            self.sim.amazon.add_order([self._line(f"AMZ-{1 + n % 3}")])
            for n in range(250)
        ]
        with trap_jobs() as trap:
            self.amazon._job_reconcile_orders()
            self.assertEqual(len(trap.enqueued_jobs), 250, "one job per order")
            self.sim.amazon.drain("getOrder", "getOrderItems")
            trap.perform_enqueued_jobs()
        self.env.invalidate_all()
        self.assertEqual(self.sim.state.calls["amazon getOrders"], 3, "100 a page")
        throttled = sum(self.sim.amazon.throttled.values())
        self.assertGreaterEqual(throttled, 1)
        self.assertLess(throttled, 50, "paced, not hammering")
        bindings = self.env["channel.order.binding"].search(
            [("backend_id", "=", self.amazon.id)]
        )
        self.assertEqual(sorted(bindings.mapped("external_ref")), sorted(ids))
        self.assertEqual(set(bindings.sale_order_id.mapped("state")), {"sale"})
        self.assertFalse(
            self.env["channel.exception"].search([("backend_id", "=", self.amazon.id)])
        )

    def test_token_expired_mid_run_is_renewed(self):
        first = self.sim.amazon.add_order([self._line("AMZ-1")])
        self._poll()
        self.sim.amazon.expire_tokens()  # the hour passed; our record says valid
        second = self.sim.amazon.add_order([self._line("AMZ-2")])
        self._poll()
        self.assertEqual(self.sim.amazon.token_requests, 2)
        self.assertTrue(self._sale_order(first) and self._sale_order(second))
