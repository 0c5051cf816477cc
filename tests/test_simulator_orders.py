"""Order import end to end: the simulator creates each order, its webhook
sender delivers the signed webhook to the real endpoint over HTTP, and the
jobs that delivery enqueued build the sale order."""

from decimal import Decimal

from odoo import Command
from odoo.tests import tagged

from simulator.orders import totals

from .test_simulator_webhooks import SimulatorWebhookCase

EXTRA_VARIANTS = 4  # SIM-000003..6, after the bound catalogue of 2
TEE_SKUS = ("SIM-000003", "SIM-000004", "SIM-000005")
UNKNOWN_SKU = "SIM-000006"


class SimulatorOrderCase(SimulatorWebhookCase):
    """VAT 20 % mapped both ways, a T-shirt whose size variants carry the
    SKUs of simulator variants (matched by SKU, not bound yet), and webhook
    subscriptions of both backends on the simulator."""

    catalogue_size = 2

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vat_excluded = cls._sale_tax("VAT 20%", "tax_excluded")
        cls.vat_included = cls._sale_tax("VAT 20% incl.", "tax_included")
        cls.env["channel.tax.mapping"].create(
            [
                {
                    "backend_id": backend.id,
                    "rate": 20,
                    "price_included": included,
                    "tax_id": tax.id,
                }
                for backend in (cls.shopify, cls.woo)
                for included, tax in (
                    (False, cls.vat_excluded),
                    (True, cls.vat_included),
                )
            ]
        )
        cls.tee_variants = cls._tee_variants()

    @classmethod
    def _sale_tax(cls, name, price_include, company=None):
        company = company or cls.env.company
        return (
            cls.env["account.tax"]
            .with_company(company)
            .create(
                {
                    "name": name,
                    "amount": 20,
                    "amount_type": "percent",
                    "type_tax_use": "sale",
                    "price_include_override": price_include,
                    "company_id": company.id,
                }
            )
        )

    @classmethod
    def _tee_variants(cls):
        size = cls.env["product.attribute"].create(
            {
                "name": "Tee size",
                "value_ids": [Command.create({"name": name}) for name in "SML"],
            }
        )
        template = cls.env["product.template"].create(
            {
                "name": "Channel tee",
                "type": "consu",
                "is_storable": True,
                "attribute_line_ids": [
                    Command.create(
                        {
                            "attribute_id": size.id,
                            "value_ids": [Command.set(size.value_ids.ids)],
                        }
                    )
                ],
            }
        )
        variants = template.product_variant_ids
        for variant, sku in zip(variants, TEE_SKUS, strict=True):
            variant.default_code = sku
        return variants

    def setUp(self):
        super().setUp()
        self.sim.state.seed_catalogue(EXTRA_VARIANTS, quantity=10)
        for backend in self._listening_backends():
            self._channel_acts(backend._sync_webhook_subscriptions)

    def _listening_backends(self):
        """The backends subscribed to the simulator's webhooks."""
        return self.shopify | self.woo

    # === HELPERS ===

    def _import(self, channel, **options):
        """A paid order placed on `channel`, delivered and imported."""
        options = {"lines": [("SIM-000001", 2)], "financial_status": "paid", **options}
        return self._channel_acts(
            lambda: self.sim.scenario.create_order(channel=channel, **options)
        )

    def _backend(self, summary):
        return self.shopify if summary["channel"] == "shopify" else self.woo

    def _imported(self, summary, backend=None):
        """The sale order of a simulator order, checked to be the only one."""
        sale_order = self._sale_order(backend or self._backend(summary), summary)
        self.assertEqual(len(sale_order), 1, f"one sale order for {summary['name']}")
        return sale_order

    def _shop_total(self, summary):
        """The order's total in the shop currency, as the channel computes it."""
        book = (
            self.sim.state.shopify_orders
            if summary["channel"] == "shopify"
            else self.sim.state.woo_orders
        )
        return float(totals(book[str(summary["id"])], shop_side=True)["total"])

    def _assert_total(self, sale_order, expected):
        self.assertFalse(
            sale_order.currency_id.compare_amounts(sale_order.amount_total, expected),
            f"Odoo total {sale_order.amount_total} == channel total {expected}",
        )

    def _lines(self, sale_order, product):
        return sale_order.order_line.filtered(lambda line: line.product_id == product)

    def _discount_total(self, sale_order, backend):
        discounts = self._lines(sale_order, backend.discount_product_id)
        return -sum(discounts.mapped("price_unit"))

    def _check_unknown_sku_then_retry(self, channel, topic):
        """An order with an unknown SKU waits on a missing mapping; once the
        product's internal reference is corrected, Retry imports it."""
        mistyped = self.env["product.product"].create(
            {"name": "Channel cap", "default_code": "SIM-6", "type": "consu"}
        )
        summary = self._import(
            channel, lines=[("SIM-000001", 1), (UNKNOWN_SKU, 2)], tax_rate="0.20"
        )
        backend = self._backend(summary)
        self.assertFalse(self._sale_order(backend, summary))
        exception = self._exceptions(backend, "missing_mapping")
        self.assertEqual(len(exception), 1)
        self.assertIn(UNKNOWN_SKU, exception.name)
        self.assertEqual(exception.channel_sku, UNKNOWN_SKU)
        self.assertEqual(self._events(backend, topic).state, "failed")
        mistyped.default_code = UNKNOWN_SKU
        self._channel_acts(exception.with_user(self.ops_user).action_retry)
        sale_order = self._imported(summary)
        self.assertEqual(sale_order.state, "sale")
        self.assertEqual(self._lines(sale_order, mistyped).product_uom_qty, 2)
        self._assert_total(sale_order, float(summary["total"]))
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(self._events(backend, topic).state, "done")


@tagged("post_install", "-at_install")
class TestSimulatorOrders(SimulatorOrderCase):
    """Shopify orders of every shape the import must reproduce exactly."""

    def test_simple_order_is_confirmed_at_the_channel_total(self):
        summary = self._import("shopify", tax_rate="0", shipping=None)
        sale_order = self._imported(summary)
        self.assertEqual(sale_order.state, "sale")
        self.assertEqual(sale_order.client_order_ref, summary["name"])
        self.assertEqual(sale_order.order_line.product_id, self.catalogue["100001"])
        self.assertEqual(sale_order.order_line.product_uom_qty, 2)
        self._assert_total(sale_order, float(summary["total"]))
        created = self._events(self.shopify, "orders/create")
        self.assertEqual(created.state, "done")
        self.assertEqual(created.res_id, sale_order.id)
        self.assertEqual(
            self.env["sale.order"].search_count(
                [("client_order_ref", "=", summary["name"])]
            ),
            1,
        )

    def test_multi_line_order_maps_size_variants_by_sku(self):
        summary = self._import(
            "shopify",
            lines=[("SIM-000001", 1), *[(sku, 2) for sku in TEE_SKUS]],
            tax_rate="0.20",
            shipping=None,
        )
        sale_order = self._imported(summary)
        self.assertEqual(sale_order.state, "sale")
        self.assertEqual(
            sale_order.order_line.product_id,
            self.catalogue["100001"] | self.tee_variants,
        )
        for variant in self.tee_variants:
            self.assertEqual(self._lines(sale_order, variant).product_uom_qty, 2)
        self.assertEqual(sale_order.order_line.tax_ids, self.vat_excluded)
        self._assert_total(sale_order, float(summary["total"]))
        # The SKU match bound each channel variant: the next order needs no SKU.
        bindings = self.env["channel.product.binding"].search(
            [
                ("backend_id", "=", self.shopify.id),
                ("product_id", "in", self.tee_variants.ids),
            ]
        )
        self.assertEqual(
            sorted(bindings.mapped("sku")), sorted(TEE_SKUS), "one binding per size"
        )

    def _import_shopify(self, read_from_channel, **options):
        """A Shopify order imported from the webhook body, or from the order
        read again through GraphQL (what a paid order gets by default)."""
        self.shopify.order_read_from_channel = read_from_channel
        reads = self.sim.state.calls["order"]
        summary = self._import("shopify", **options)
        self.assertEqual(self.sim.state.calls["order"] - reads, int(read_from_channel))
        return summary, self._imported(summary)

    def test_order_read_again_draws_from_the_shared_budget(self):
        """The GraphQL re-read of a webhook order is measured in the account's
        budget, like stock and reconciliation calls: it is not a free rider."""
        Budget = self.env["channel.api.budget"]
        Budget.search([("backend_id", "=", self.shopify.id)]).unlink()
        self.env.flush_all()
        self._import_shopify(True)
        budget = Budget.search([("backend_id", "=", self.shopify.id)])
        self.assertEqual(budget.maximum, 1000)  # the simulator's bucket
        self.assertLess(budget.available, 1000)

    def test_tax_excluded_order_with_discounts_and_shipping(self):
        for read in (False, True):
            with self.subTest(read_from_channel=read):
                summary, sale_order = self._import_shopify(
                    read,
                    lines=[("SIM-000001", 3), ("SIM-000002", 1)],
                    tax_rate="0.20",
                    line_discount_percent=10,
                    order_discount="5.00",
                    shipping="4.90",
                )
                self.assertEqual(sale_order.state, "sale")
                self.assertEqual(sale_order.order_line.tax_ids, self.vat_excluded)
                self.assertAlmostEqual(
                    self._discount_total(sale_order, self.shopify),
                    float(summary["discounts"]),
                )
                discounts = self._lines(sale_order, self.shopify.discount_product_id)
                self.assertEqual(len(discounts), 2, "one below each discounted line")
                self.assertEqual(discounts.tax_ids, self.vat_excluded)
                shipping = self._lines(sale_order, self.shopify.shipping_product_id)
                self.assertEqual(shipping.price_unit, 4.90)
                self.assertEqual(shipping.tax_ids, self.vat_excluded)
                self.assertAlmostEqual(sale_order.amount_tax, float(summary["tax"]))
                self._assert_total(sale_order, float(summary["total"]))

    def test_discount_whose_tax_rounds_apart_keeps_the_total(self):
        """10.03 less a 1.02 code discount at 20 % excluded: the channel
        taxes the 9.01 net (1.80), while rounding the tax of 10.03 and of
        -1.02 each would give 1.81. The order totals the channel's 10.81."""
        self.sim.state.variants["100001"]["price"] = Decimal("10.03")
        summary = self._import(
            "shopify",
            lines=[("SIM-000001", 1)],
            tax_rate="0.20",
            order_discount="1.02",
            shipping=None,
        )
        self.assertEqual(summary["total"], "10.81")
        sale_order = self._imported(summary)
        self.assertAlmostEqual(
            self._discount_total(sale_order, self.shopify), 1.02, places=2
        )
        self._assert_total(sale_order, 10.81)
        self.assertEqual(sale_order.state, "sale")
        self.assertFalse(self._exceptions(self.shopify, "total_mismatch"))

    def test_tax_included_order_with_discounts_and_shipping(self):
        for read in (False, True):
            with self.subTest(read_from_channel=read):
                summary, sale_order = self._import_shopify(
                    read,
                    lines=[("SIM-000001", 2), ("SIM-000002", 3)],
                    taxes_included=True,
                    tax_rate="0.20",
                    line_discount_percent=15,
                    order_discount="7.50",
                    shipping="6.00",
                )
                self.assertEqual(sale_order.state, "sale")
                self.assertEqual(sale_order.order_line.tax_ids, self.vat_included)
                discounts = self._lines(sale_order, self.shopify.discount_product_id)
                self.assertEqual(len(discounts), 2, "one below each discounted line")
                self.assertAlmostEqual(
                    self._discount_total(sale_order, self.shopify),
                    float(summary["discounts"]),
                )
                shipping = self._lines(sale_order, self.shopify.shipping_product_id)
                self.assertEqual(shipping.price_unit, 6.00)
                self.assertEqual(shipping.tax_ids, self.vat_included)
                self._assert_total(sale_order, float(summary["total"]))

    def test_shop_in_another_currency_gets_a_pricelist_in_it(self):
        """A shop selling in EUR while the company keeps USD books."""
        self.sim.state.currency = "EUR"
        summary = self._import(
            "shopify", currency="EUR", tax_rate="0.20", shipping="4.90"
        )
        sale_order = self._imported(summary)
        eur = self.env.ref("base.EUR")
        self.assertNotEqual(self.env.company.currency_id, eur)
        self.assertEqual(sale_order.currency_id, eur)
        self.assertEqual(sale_order.pricelist_id.currency_id, eur)
        self.assertEqual(sale_order.state, "sale")
        self._assert_total(sale_order, float(summary["total"]))

    def test_buyer_currency_order_is_booked_at_the_shop_total(self):
        """A buyer paying in GBP in a EUR shop: the sale order is in the shop
        currency and totals what the channel reports in it, to the cent."""
        self.sim.state.currency = "EUR"
        summary = self._import(
            "shopify", currency="GBP", tax_rate="0.20", shipping="4.90"
        )
        sale_order = self._imported(summary)
        self.assertEqual(sale_order.currency_id, self.env.ref("base.EUR"))
        self.assertNotEqual(self._shop_total(summary), float(summary["total"]))
        self._assert_total(sale_order, self._shop_total(summary))
        rounding = sale_order.order_line.filtered(
            lambda line: line.product_id == self.shopify.rounding_product_id
        )
        self.assertEqual(len(rounding), 1, "the conversion's cent has its own line")
        self.assertLessEqual(abs(rounding.price_unit), 0.05)
        self.assertFalse(rounding.tax_ids)
        self.assertEqual(sale_order.state, "sale")
        self.assertFalse(self._exceptions(self.shopify, "total_mismatch"))

    def test_repeat_customer_is_one_partner_and_a_guest_is_their_own(self):
        first = self._import("shopify", customer="new", tax_rate="0", shipping=None)
        again = self._import("shopify", customer="repeat", tax_rate="0", shipping=None)
        guest = self._import("shopify", customer="guest", tax_rate="0", shipping=None)
        self.assertEqual(first["customer_id"], again["customer_id"])
        self.assertIsNone(guest["customer_id"])
        partner = self._imported(first).partner_id
        self.assertEqual(self._imported(again).partner_id, partner)
        guest_order = self._imported(guest)
        guest_email = self.sim.state.shopify_orders[str(guest["id"])]["email"]
        self.assertNotEqual(guest_order.partner_id, partner)
        self.assertEqual(guest_order.partner_id.email, guest_email)
        self.assertEqual(guest_order.state, "sale")
        self.assertEqual(
            self.env["res.partner"].search_count(
                [("email", "=", partner.email), ("parent_id", "=", False)]
            ),
            1,
        )

    def test_unknown_sku_waits_then_retry_after_fixing_the_sku_imports(self):
        self._check_unknown_sku_then_retry("shopify", "orders/create")

    def test_total_mismatch_holds_the_order_as_a_quotation(self):
        """The channel charges 20 % but the mapped tax is 21 %: Odoo's total
        is off, so the order is not confirmed."""
        self.vat_excluded.amount = 21
        summary = self._import("shopify", tax_rate="0.20", shipping=None)
        sale_order = self._imported(summary)
        self.assertEqual(sale_order.state, "draft")
        self.assertTrue(
            sale_order.currency_id.compare_amounts(
                sale_order.amount_total, float(summary["total"])
            )
        )
        exception = self._exceptions(self.shopify, "total_mismatch")
        self.assertEqual(len(exception), 1)
        self.assertEqual(exception.sale_order_id, sale_order)
        self.assertIn(summary["total"], exception.name)
        binding = sale_order.channel_binding_ids
        self.assertTrue(binding.is_on_hold)

    def test_high_risk_quotation_of_a_status_rule_is_read_and_held(self):
        """A status rule imports paid orders as quotations: the webhook body
        has no risk assessment, so the order is read through GraphQL and the
        high-risk quotation is held with an activity."""
        self.env["channel.order.status.rule"].create(
            {
                "backend_id": self.shopify.id,
                "financial_status": "paid",
                "action": "quotation",
            }
        )
        summary = self._import("shopify", tax_rate="0", shipping=None, high_risk=True)
        sale_order = self._imported(summary)
        self.assertEqual(sale_order.state, "draft")
        self.assertGreaterEqual(self.sim.state.calls["order"], 1, "read, not body")
        self.assertTrue(sale_order.channel_risk_hold)
        self.assertTrue(sale_order.channel_binding_ids.is_on_hold)
        activity = sale_order.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertIn("high-risk IP address", activity.note)

    def test_order_of_sixty_lines_is_read_whole_through_graphql(self):
        """GraphQL reads 50 line items with the order (the query cost cap);
        the other 10 come from a second page before the order is imported."""
        # Like the channel, per line: globally, 60 lines round cents apart.
        self.env.company.tax_calculation_rounding_method = "round_per_line"
        summary = self._import(
            "shopify",
            lines=[("SIM-000001", 1)] * 30 + [("SIM-000002", 2)] * 30,
            tax_rate="0.20",
            shipping="4.90",
        )
        sale_order = self._imported(summary)
        self.assertEqual(sale_order.state, "sale")
        products = sale_order.order_line.filtered(
            lambda line: line.product_id in self.catalogue.values()
        )
        self.assertEqual(len(products), 60)
        self.assertEqual(sum(products.mapped("product_uom_qty")), 90)
        self._assert_total(sale_order, float(summary["total"]))
        # Two reads at least: the order, then its last 10 lines (Shopify may
        # throttle the second, a 603-point query, and have it sent again).
        self.assertGreaterEqual(self.sim.state.calls["order"], 2)
        self.assertFalse(self._exceptions(self.shopify, "validation"))

    def test_out_of_order_updates_of_a_quotation_keep_the_newest(self):
        """Each delivered body is applied as is (no read of the current
        order): the late, older body must not overwrite the newer one."""
        self.shopify.write({"order_confirm": False, "order_read_from_channel": False})
        summary = self._import("shopify", tax_rate="0.20", shipping=None)
        self.sim.scenario.inject("shopify_webhooks", "out_of_order")
        self._channel_acts(
            lambda: (
                self.sim.scenario.update_order("shopify", summary["id"], note="older"),
                self.sim.scenario.update_order("shopify", summary["id"], note="newer"),
            )
        )
        sale_order = self._imported(summary)
        self.assertEqual(sale_order.state, "draft")
        self.assertIn("newer", str(sale_order.note))
        updates = self._events(self.shopify, "orders/updated")
        self.assertEqual(len(updates), 2)
        # Both waited for one job (docs/webhooks.rst, Coalescing): the newer
        # body was applied, the late older one follows it.
        newer = updates.filtered(lambda e: not e.joined_event_id)
        self.assertEqual(len(newer), 1)
        self.assertEqual((updates - newer).joined_event_id, newer)
        self.assertEqual(updates.mapped("state"), ["done", "done"])
        # The refreshed lines keep the mapped tax, not the product's default.
        self.assertEqual(sale_order.order_line.tax_ids, self.vat_excluded)
        self._assert_total(sale_order, float(summary["total"]))

    def test_cancellation_of_an_invoiced_order_credits_it(self):
        self.shopify.order_create_invoice = True
        summary = self._import("shopify", tax_rate="0", shipping=None)
        sale_order = self._imported(summary)
        self.assertEqual(sale_order.invoice_ids.state, "posted")
        self._channel_acts(
            lambda: self.sim.scenario.cancel_order("shopify", summary["id"])
        )
        self.assertEqual(sale_order.state, "cancel", "credited, nothing shipped")
        credit_note = sale_order.invoice_ids.filtered(
            lambda m: m.move_type == "out_refund"
        )
        self.assertEqual(credit_note.state, "posted")
        self.assertAlmostEqual(credit_note.amount_total, float(summary["total"]))
        self.assertFalse(
            self.env["channel.exception"].search(
                [("sale_order_id", "=", sale_order.id)]
            )
        )
        # A cancellation before invoicing cancels.
        self.shopify.order_create_invoice = False
        other = self._import("shopify", tax_rate="0", shipping=None)
        self._channel_acts(
            lambda: self.sim.scenario.cancel_order("shopify", other["id"])
        )
        self.assertEqual(self._imported(other).state, "cancel")

    def test_duplicate_deliveries_of_a_discounted_order_import_once(self):
        self.sim.scenario.inject("shopify_webhooks", "duplicate", count=2)
        summary = self._import(
            "shopify", tax_rate="0.20", order_discount="3.00", shipping="4.90"
        )
        sale_order = self._imported(summary)
        self.assertEqual(sale_order.state, "sale")
        self._assert_total(sale_order, float(summary["total"]))
        created = self._events(self.shopify, "orders/create")
        self.assertEqual(len(created), 1)
        self.assertGreaterEqual(created.duplicates_prevented, 1)


@tagged("post_install", "-at_install")
class TestSimulatorWooOrders(SimulatorOrderCase):
    """WooCommerce stores prices without tax and coupons as their own lines."""

    def test_tax_excluded_order_with_discounts_and_shipping(self):
        summary = self._import(
            "woocommerce",
            lines=[("SIM-000001", 3), ("SIM-000002", 1)],
            tax_rate="0.20",
            line_discount_percent=10,
            order_discount="5.00",
            shipping="4.90",
        )
        sale_order = self._imported(summary)
        self.assertEqual(sale_order.state, "sale")
        self.assertEqual(set(sale_order.order_line.tax_ids.ids), {self.vat_excluded.id})
        self.assertAlmostEqual(
            self._discount_total(sale_order, self.woo), float(summary["discounts"])
        )
        shipping = self._lines(sale_order, self.woo.shipping_product_id)
        self.assertEqual(shipping.price_unit, 4.90)
        self.assertAlmostEqual(sale_order.amount_tax, float(summary["tax"]))
        self._assert_total(sale_order, float(summary["total"]))

    def test_tax_included_order_with_discounts_and_shipping(self):
        summary = self._import(
            "woocommerce",
            lines=[("SIM-000001", 2), *[(sku, 1) for sku in TEE_SKUS]],
            taxes_included=True,
            tax_rate="0.20",
            line_discount_percent=15,
            order_discount="7.50",
            shipping="6.00",
        )
        sale_order = self._imported(summary)
        self.assertEqual(sale_order.state, "sale")
        self.assertEqual(sale_order.order_line.tax_ids, self.vat_included)
        self.assertTrue(self.tee_variants <= sale_order.order_line.product_id)
        self.assertAlmostEqual(
            self._discount_total(sale_order, self.woo), float(summary["discounts"])
        )
        self.assertEqual(
            self._lines(sale_order, self.woo.shipping_product_id).price_unit, 6.00
        )
        self._assert_total(sale_order, float(summary["total"]))

    def test_order_in_another_currency_gets_a_pricelist_in_it(self):
        summary = self._import(
            "woocommerce", currency="GBP", tax_rate="0.20", shipping="4.90"
        )
        sale_order = self._imported(summary)
        gbp = self.env.ref("base.GBP")
        self.assertEqual(sale_order.currency_id, gbp)
        self.assertEqual(sale_order.pricelist_id.currency_id, gbp)
        self.assertEqual(sale_order.state, "sale")
        self._assert_total(sale_order, float(summary["total"]))

    def test_repeat_customer_is_one_partner_and_a_guest_is_their_own(self):
        first = self._import("woocommerce", customer="new", tax_rate="0")
        again = self._import("woocommerce", customer="repeat", tax_rate="0")
        guest = self._import("woocommerce", customer="guest", tax_rate="0")
        self.assertEqual(first["customer_id"], again["customer_id"])
        partner = self._imported(first).partner_id
        self.assertEqual(self._imported(again).partner_id, partner)
        guest_order = self._imported(guest)
        self.assertNotEqual(guest_order.partner_id, partner)
        self.assertEqual(
            guest_order.partner_id.email,
            self.sim.state.woo_orders[str(guest["id"])]["email"],
        )
        self.assertEqual(guest_order.state, "sale")

    def test_unknown_sku_waits_then_retry_after_fixing_the_sku_imports(self):
        self._check_unknown_sku_then_retry("woocommerce", "order.created")

    def test_payment_carries_the_transaction_id_in_its_memo(self):
        bank = self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", self.env.company.id)], limit=1
        )
        self.woo.write({"order_create_invoice": True, "order_register_payment": True})
        self.env["channel.payment.mapping"].create(
            {"backend_id": self.woo.id, "gateway": "stripe", "journal_id": bank.id}
        )
        summary = self._import(
            "woocommerce", gateway="stripe", tax_rate="0.20", shipping="4.90"
        )
        transaction = self.sim.state.woo_orders[str(summary["id"])]["transactions"][0]
        self.assertTrue(transaction["authorization"].startswith("ch_"))
        payment = self.env["account.payment"].search(
            [("memo", "=", transaction["authorization"])]
        )
        self.assertEqual(len(payment), 1)
        self.assertEqual(payment.journal_id, bank)
        self.assertAlmostEqual(payment.amount, float(summary["total"]))
        invoice = self._imported(summary).invoice_ids
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))


@tagged("post_install", "-at_install")
class TestSimulatorOrdersSecondCompany(SimulatorOrderCase):
    """A second company's Shopify shop: everything is created in that company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["account.chart.template"].try_loading(
            "generic_coa", company=cls.other_company, install_demo=False
        )
        cls.other_shop = cls._prepare_backend(
            "shopify",
            name="Other company shop",
            company_id=cls.other_company.id,
            shopify_access_token="shpat_sim_token",
            state="connected",
            order_read_from_channel=True,
            order_create_invoice=True,
            order_register_payment=True,
        )
        cls.other_bank = cls.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", cls.other_company.id)], limit=1
        )
        cls.env["channel.payment.mapping"].create(
            {
                "backend_id": cls.other_shop.id,
                "gateway": "shopify_payments",
                "journal_id": cls.other_bank.id,
            }
        )
        cls.other_vat = cls._sale_tax(
            "Other VAT 20%", "tax_excluded", company=cls.other_company
        )
        cls.env["channel.tax.mapping"].create(
            {"backend_id": cls.other_shop.id, "rate": 20, "tax_id": cls.other_vat.id}
        )

    def _listening_backends(self):
        """Only the second company's backend listens to this shop."""
        self.other_shop.write(
            {"api_url": self.sim.base_url, "webhook_secret": "sim_shopify_secret"}
        )
        return self.other_shop

    def test_second_company_backend_creates_everything_there(self):
        summary = self._import(
            "shopify",
            lines=[("SIM-000001", 1), (TEE_SKUS[0], 2)],
            tax_rate="0.20",
            shipping="4.90",
            gateway="shopify_payments",
        )
        self.assertFalse(self._sale_order(self.shopify, summary))
        sale_order = self._imported(summary, backend=self.other_shop)
        self.assertEqual(sale_order.company_id, self.other_company)
        self.assertEqual(sale_order.state, "sale")
        self.assertEqual(sale_order.order_line.tax_ids, self.other_vat)
        self._assert_total(sale_order, float(summary["total"]))
        self.assertEqual(sale_order.warehouse_id.company_id, self.other_company)
        self.assertEqual(sale_order.picking_ids.company_id, self.other_company)
        invoice = sale_order.invoice_ids
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.company_id, self.other_company)
        self.assertEqual(invoice.journal_id.company_id, self.other_company)
        transaction = self.sim.state.shopify_orders[str(summary["id"])]["transactions"][
            0
        ]
        payment = self.env["account.payment"].search(
            [("memo", "=", transaction["authorization"])]
        )
        self.assertEqual(payment.journal_id, self.other_bank)
        self.assertEqual(payment.company_id, self.other_company)
        binding = sale_order.channel_binding_ids
        self.assertEqual(binding.company_id, self.other_company)
        product_bindings = self.env["channel.product.binding"].search(
            [("backend_id", "=", self.other_shop.id)]
        )
        self.assertEqual(set(product_bindings.company_id.ids), {self.other_company.id})
        self.assertIn(
            sale_order.partner_id.company_id.id, (False, self.other_company.id)
        )


@tagged("post_install", "-at_install")
class TestSimulatorRepeatGuest(SimulatorOrderCase):
    """A guest (no customer account) who orders twice with the same email
    lands on one partner, through the simulator's webhooks over HTTP."""

    def _guest_orders_twice(self, channel):
        """Two guest orders of one buyer, each delivered by its webhook.

        The simulator makes a new identity for every guest: the second order
        is placed silently, then given the first one's email and phone, and
        the merchant's edit announces it (orders/updated, order.updated).
        """
        first = self._import(channel, customer="guest", tax_rate="0", shipping=None)
        book = (
            self.sim.state.shopify_orders
            if channel == "shopify"
            else self.sim.state.woo_orders
        )
        buyer = book[str(first["id"])]
        second = self.sim.scenario.create_order(
            channel=channel,
            notify=False,
            customer="guest",
            lines=[("SIM-000001", 1)],
            tax_rate="0",
            shipping=None,
            financial_status="paid",
        )
        self.assertNotEqual(book[str(second["id"])]["email"], buyer["email"])
        self._channel_acts(
            lambda: self.sim.scenario.update_order(
                channel,
                second["id"],
                email=buyer["email"].upper(),
                phone=buyer["phone"],
            )
        )
        return first, second, buyer["email"]

    def _check_one_partner(self, channel):
        first, second, email = self._guest_orders_twice(channel)
        self.assertIsNone(first["customer_id"])
        self.assertIsNone(second["customer_id"])
        first_order, second_order = self._imported(first), self._imported(second)
        self.assertEqual(second_order.partner_id, first_order.partner_id)
        self.assertEqual(first_order.partner_id.email, email)
        self.assertEqual((first_order.state, second_order.state), ("sale", "sale"))
        self.assertEqual(
            self.env["res.partner"].search_count(
                [("email", "=ilike", email), ("parent_id", "=", False)]
            ),
            1,
        )
        binding = self.env["channel.partner.binding"].search(
            [("external_ref", "=", f"email:{email}")]
        )
        self.assertEqual(binding.partner_id, first_order.partner_id)

    def test_shopify_guest_ordering_twice_is_one_partner(self):
        self._check_one_partner("shopify")

    def test_woocommerce_guest_ordering_twice_is_one_partner(self):
        self._check_one_partner("woocommerce")
