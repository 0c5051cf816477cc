from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from simulator.sandbox import CATALOGUE_SIZE, UNMAPPED_SKU, SandboxTraffic

from .test_channel_http import SimulatorCommon


@tagged("post_install", "-at_install")
class TestSandbox(SimulatorCommon):
    """What `make run` does after starting the simulator (README, "Sandbox")."""

    def setUp(self):
        super().setUp()
        SandboxTraffic(self.sim).seed_catalogue()
        self.Backend = self.env["channel.backend"]

    def _prepare(self):
        return self.Backend._sandbox_prepare(self.sim.base_url, [UNMAPPED_SKU])

    def test_backends_wired_to_the_simulator(self):
        prepared = self._prepare()
        self.assertEqual(
            sorted(prepared.mapped("provider")),
            ["amazon", "shopify", "threepl", "woocommerce"],
        )
        self.assertEqual(set(prepared.mapped("state")), {"connected"})
        backends = prepared.filtered(lambda b: not b.supports_fulfilment_handoff)
        self.assertTrue(all(backends.mapped("is_sandbox")))
        self.assertEqual(set(backends.mapped("state")), {"connected"})
        self.assertTrue(all("SANDBOX" in name for name in backends.mapped("name")))
        products = self.env["product.product"].search(
            [("default_code", "=like", "SIM-%")]
        )
        self.assertEqual(len(products), CATALOGUE_SIZE - 1)
        self.assertNotIn(UNMAPPED_SKU, products.mapped("default_code"))
        self.assertTrue(all("(sandbox)" in name for name in products.mapped("name")))
        self.assertEqual(set(products.mapped("qty_available")), {25})
        for backend in backends.filtered("supports_stock_export"):
            bindings = self.env["channel.product.binding"].search(
                [("backend_id", "=", backend.id)]
            )
            self.assertEqual(bindings.product_id, products)
        self.assertEqual(len(self.sim.state.shopify_webhooks), 14)
        self.assertTrue(self.sim.state.woo_webhooks)
        jobs = self.env["queue.job"].search(
            [("method_name", "=", "_job_export_stock"), ("state", "=", "pending")]
        )
        self.assertEqual(
            sorted(job.records.id for job in jobs),
            sorted(backends.filtered("supports_stock_export").ids),
        )

    def test_card_payments_wait_on_a_processor_clearing_journal(self):
        backends = self._prepare()
        shopify = backends.filtered(lambda b: b.provider == "shopify")
        woo = backends.filtered(lambda b: b.provider == "woocommerce")
        for backend, gateway in ((shopify, "shopify_payments"), (woo, "stripe")):
            mapping = backend.payment_mapping_ids.filtered(
                lambda m, gateway=gateway: m.gateway == gateway
            )
            clearing = mapping.journal_id.inbound_payment_method_line_ids
            self.assertTrue(clearing.payment_account_id.reconcile)
            self.assertEqual(
                clearing.payment_account_id, backend.payout_clearing_account_id
            )
            self.assertTrue(backend.import_payouts)
            self.assertTrue(backend.payout_fee_account_id)
            self.assertTrue(backend.payout_bank_journal_id)
        paypal = shopify.payment_mapping_ids.filtered(lambda m: m.gateway == "paypal")
        self.assertEqual(paypal.journal_id.type, "bank")
        self.assertNotEqual(paypal.journal_id.code, "SHPAY")
        self.assertEqual(woo.payment_processor_ids.api_url, self.sim.base_url)
        # Preparing again changes nothing.
        self._prepare()
        self.assertEqual(len(woo.payment_processor_ids), 1)

    def test_company_rounds_taxes_per_line_like_the_channels(self):
        self.env.company.tax_calculation_rounding_method = "round_globally"
        self.assertIn("rounds taxes globally", self.shopify.tax_rounding_warning)
        backends = self._prepare()
        self.assertEqual(
            self.env.company.tax_calculation_rounding_method, "round_per_line"
        )
        self.assertEqual(set(backends.mapped("tax_rounding_warning")), {False})

    def test_preparing_again_creates_nothing_more(self):
        models = (
            "product.product",
            "channel.product.binding",
            "channel.stock.location",
            "channel.tax.mapping",
            "channel.payment.mapping",
        )
        first = self._prepare()
        counts = [self.env[model].search_count([]) for model in models]
        self.assertEqual(self._prepare(), first)
        self.assertEqual([self.env[model].search_count([]) for model in models], counts)
        self.assertEqual(len(self.sim.state.shopify_webhooks), 14)

    def test_stock_goes_out_and_orders_come_in(self):
        shopify = self._prepare().filtered(lambda b: b.provider == "shopify")
        self.assertIn("sent 11", shopify._job_export_stock(full=True))
        levels = self.sim.state.levels
        item = self.sim.state.variant_by_sku("SIM-000001")["inventory_item"]
        self.assertEqual(levels[(item, "1001")], 25)
        # A sandbox order for a known SKU imports and confirms; one for the
        # unmapped SKU waits on a missing-mapping exception.
        known = self.sim.scenario.create_order(
            channel="shopify", notify=False, lines=[("SIM-000001", 2)]
        )
        unknown = self.sim.scenario.create_order(
            channel="shopify", notify=False, lines=[(UNMAPPED_SKU, 1)]
        )
        since = fields.Datetime.now() - timedelta(hours=1)
        # Created just now: pulled at once, not left to a webhook.
        shopify.reconcile_grace_minutes = 0
        with trap_jobs() as trap:
            shopify._reconcile_orders(since, fields.Datetime.now())
            trap.perform_enqueued_jobs()
        orders = self.env["channel.order.binding"].search(
            [("backend_id", "=", shopify.id)]
        )
        by_ref = {binding.external_ref: binding for binding in orders}
        self.assertEqual(by_ref[str(known["id"])].sale_order_id.state, "sale")
        self.assertNotIn(str(unknown["id"]), by_ref)
        exception = self.env["channel.exception"].search(
            [
                ("backend_id", "=", shopify.id),
                ("exception_type", "=", "missing_mapping"),
            ]
        )
        self.assertIn(UNMAPPED_SKU, exception.name)

    def test_warehouse_partner_ships_the_deliveries_of_its_warehouse(self):
        threepl = self._prepare().filtered("supports_fulfilment_handoff")
        self.assertEqual(threepl.api_url, f"{self.sim.base_url}/3pl")
        warehouse = threepl.warehouse_id
        self.assertEqual(warehouse.code, "3PL")
        product = self.env["product.product"].search(
            [("default_code", "=", "SIM-000001")]
        )
        self.env["stock.quant"]._update_available_quantity(
            product, warehouse.lot_stock_id, 5
        )
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": warehouse.out_type_id.id,
                "partner_id": self.env.user.partner_id.id,
                "move_ids": [
                    Command.create(
                        {
                            "product_id": product.id,
                            "product_uom_qty": 2,
                            "location_id": warehouse.lot_stock_id.id,
                            "location_dest_id": self.env.ref(
                                "stock.stock_location_customers"
                            ).id,
                        }
                    )
                ],
            }
        )
        with trap_jobs() as trap:
            picking.action_confirm()
            picking.action_assign()
            trap.perform_enqueued_jobs()
        self.assertEqual(
            self.sim.threepl.requests[picking.name]["lines"], {"SIM-000001": 2}
        )
        # The partner confirms to the backend's webhook (the sandbox sets it).
        self.sim.scenario.threepl_connect(threepl._get_webhook_address(), None)
        self.assertEqual(self.sim.threepl.webhook_url, threepl._get_webhook_address())

    def test_only_an_administrator_prepares_it(self):
        with self.assertRaises(AccessError):
            self.Backend.with_user(self.manager_user)._sandbox_prepare(
                self.sim.base_url
            )

    def test_amazon_sandbox_polls_the_simulators_seller_account(self):
        amazon = self._prepare().filtered(lambda b: b.provider == "amazon")
        self.assertEqual(amazon.state, "connected")
        self.assertEqual(amazon.amazon_lwa_url, self.sim.base_url)
        self.assertIn("ATVPDKIKX0DER", amazon.marketplace_ids.mapped("external_ref"))
        order_id = self.sim.amazon.add_order(
            [{"sku": "SIM-000001", "quantity": 2, "price": "10.00", "tax": "1.60"}]
        )
        with trap_jobs() as trap:
            amazon._job_reconcile_orders()
            trap.perform_enqueued_jobs()
        binding = self.env["channel.order.binding"].search(
            [("backend_id", "=", amazon.id), ("external_ref", "=", order_id)]
        )
        self.assertEqual(binding.sale_order_id.state, "sale")
        self.assertAlmostEqual(binding.sale_order_id.amount_total, 20.0, places=2)
