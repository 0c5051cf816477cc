import copy
import dataclasses
import json
from datetime import timedelta
from decimal import Decimal

from odoo import Command, fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tests.common import new_test_user

from odoo.addons.queue_job.tests.common import trap_jobs

from ..adapters.records import PaymentTransactionData
from ..adapters.signatures import sign_base64
from ..const import ORDER_PULL_TOPIC
from ..models.channel_partner_binding import normalize_phone
from ..models.sale_order import split_in_proportion
from .common import (
    SHOPIFY_VECTOR_SECRET,
    WOOCOMMERCE_VECTOR_SECRET,
    ChannelCommon,
    reference_path,
    shopify_vector,
    woocommerce_vector,
)
from .test_channel_http import SimulatorCommon

SECRET = "order_import_secret"


def shop_money(amount, currency="USD"):
    amount = str(amount)
    return {
        "shop_money": {"amount": amount, "currency_code": currency},
        "presentment_money": {"amount": amount, "currency_code": currency},
    }


class OrderImportCommon(ChannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sample = json.loads(
            reference_path("shopify", "webhooks", "orders__create.json").read_text()
        )
        cls.backend = cls._prepare_backend(
            "shopify",
            webhook_secret=SECRET,
            state="connected",
            order_confirm=True,
        )
        cls.tax_excluded = cls._tax("Sales tax 10%", 10, "tax_excluded")
        cls.tax_included = cls._tax("VAT 20% incl.", 20, "tax_included")
        cls.env["channel.tax.mapping"].create(
            [
                {
                    "backend_id": cls.backend.id,
                    "rate": 10,
                    "tax_id": cls.tax_excluded.id,
                },
                {
                    "backend_id": cls.backend.id,
                    "rate": 20,
                    "price_included": True,
                    "tax_id": cls.tax_included.id,
                },
            ]
        )
        cls.red_m = cls._product("T-shirt red M", "TS-RED-M")
        cls.blue_l = cls._product("T-shirt blue L", "TS-BLUE-L")
        cls.env["account.chart.template"].try_loading(
            "generic_coa", company=cls.other_company, install_demo=False
        )
        cls.bank = cls.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", cls.env.company.id)], limit=1
        )

    @classmethod
    def _tax(cls, name, amount, price_include):
        return cls.env["account.tax"].create(
            {
                "name": name,
                "amount": amount,
                "amount_type": "percent",
                "type_tax_use": "sale",
                "price_include_override": price_include,
            }
        )

    @classmethod
    def _product(cls, name, sku, **values):
        return cls.env["product.product"].create(
            {
                "name": name,
                "default_code": sku,
                "type": "consu",
                "is_storable": True,
                "list_price": 1.0,
                **values,
            }
        )

    def _order(self, order_id=1001, lines=None, shipping=None, **values):
        """A Shopify order payload from the reference sample, made consistent.

        `lines`: (sku, variant id, quantity, unit price, discount, tax rate);
        totals are computed like Shopify does (tax per line, rounded).
        """
        payload = copy.deepcopy(self.sample)
        included = values.get("taxes_included", False)
        lines = lines or [("TS-RED-M", 501, 2, "10.00", "0.00", None)]
        payload.update(
            id=order_id,
            name=f"#{order_id}",
            financial_status="paid",
            cancelled_at=None,
            cancel_reason=None,
            taxes_included=included,
            updated_at="2026-11-01T10:00:00Z",
            discount_applications=[],
        )
        payload["line_items"] = [
            self._line(index, line, included) for index, line in enumerate(lines)
        ]
        payload["shipping_lines"] = [
            {
                "id": 9000 + order_id,
                "title": "Standard",
                "code": "STD",
                "price_set": shop_money(price),
                "tax_lines": self._tax_lines(Decimal(price), rate, included),
                "discount_allocations": [],
            }
            for price, rate in (shipping or [])
        ]
        self._fill_totals(payload, included)
        payload.update(values)
        return payload

    def _line(self, index, line, included):
        sku, variant, quantity, price, discount, rate = line
        net = Decimal(price) * quantity - Decimal(discount)
        return {
            "id": 7000 + index,
            "sku": sku,
            "variant_id": variant,
            "product_id": 600 + index,
            "name": sku,
            "quantity": quantity,
            "price_set": shop_money(price),
            "gift_card": False,
            "requires_shipping": True,
            "discount_allocations": [{"amount_set": shop_money(discount)}]
            if Decimal(discount)
            else [],
            "tax_lines": self._tax_lines(net, rate, included),
        }

    @staticmethod
    def _tax_lines(net, rate, included):
        if rate is None:
            return []
        rate = Decimal(rate)
        amount = net - net / (1 + rate) if included else net * rate
        amount = amount.quantize(Decimal("0.01"))
        return [{"title": "Tax", "rate": float(rate), "price_set": shop_money(amount)}]

    @staticmethod
    def _fill_totals(payload, included):
        def amounts(items, key):
            return sum(
                (
                    Decimal(t["price_set"]["shop_money"]["amount"])
                    for item in items
                    for t in item[key]
                ),
                Decimal(0),
            )

        lines = payload["line_items"]
        subtotal = sum(
            (
                Decimal(line["price_set"]["shop_money"]["amount"]) * line["quantity"]
                - sum(
                    (
                        Decimal(a["amount_set"]["shop_money"]["amount"])
                        for a in line["discount_allocations"]
                    ),
                    Decimal(0),
                )
                for line in lines
            ),
            Decimal(0),
        )
        shipping = sum(
            (
                Decimal(s["price_set"]["shop_money"]["amount"])
                for s in payload["shipping_lines"]
            ),
            Decimal(0),
        )
        tax = amounts(lines, "tax_lines") + amounts(
            payload["shipping_lines"], "tax_lines"
        )
        total = subtotal + shipping + (0 if included else tax)
        payload["total_price_set"] = shop_money(total)
        payload["total_price"] = str(total)
        payload["total_tax_set"] = shop_money(tax)
        payload["subtotal_price_set"] = shop_money(subtotal)
        discounts = sum(
            (
                Decimal(a["amount_set"]["shop_money"]["amount"])
                for line in lines
                for a in line["discount_allocations"]
            ),
            Decimal(0),
        )
        payload["total_discounts_set"] = shop_money(discounts)
        payload["total_discounts"] = str(discounts)

    def _deliver(self, payload, topic="orders/create", event_id=None, backend=None):
        """Send the payload through the webhook pipeline and run its jobs."""
        backend = backend or self.backend
        body = json.dumps(payload).encode()
        headers = {
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign_base64(SECRET, body),
            "X-Shopify-Webhook-Id": f"wh-{event_id or payload['id']}-{topic}",
            "X-Shopify-Event-Id": event_id or f"evt-{payload['id']}-{topic}",
            "X-Shopify-Triggered-At": payload.get("updated_at"),
        }
        with trap_jobs() as trap:
            status, _text = self.env["channel.event"]._receive_delivery(
                backend, headers, body
            )
            self.assertEqual(status, 200)
            trap.assert_jobs_count(1)
            trap.perform_enqueued_jobs()
        return self.env["channel.event"].search(
            [("backend_id", "=", backend.id)], limit=1
        )

    def _sale_order(self, order_id, backend=None):
        binding = self.env["channel.order.binding"].search(
            [
                ("backend_id", "=", (backend or self.backend).id),
                ("external_ref", "=", str(order_id)),
            ]
        )
        return binding.sale_order_id


@tagged("post_install", "-at_install")
class TestOrderImport(OrderImportCommon):
    def test_simple_order_is_confirmed_with_exact_total(self):
        payload = self._order(lines=[("TS-RED-M", 501, 2, "10.00", "0.00", "0.1")])
        event = self._deliver(payload)
        order = self._sale_order(1001)
        self.assertEqual(event.state, "done")
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.order_line.product_id, self.red_m)
        self.assertEqual(order.order_line.tax_ids, self.tax_excluded)
        self.assertAlmostEqual(order.amount_total, 22.00)
        self.assertEqual(order.client_order_ref, "#1001")
        self.assertEqual(order.partner_id.email, "john@example.com")
        self.assertEqual(event.res_id, order.id)

    def test_variant_lines_and_binding_reuse(self):
        payload = self._order(
            lines=[
                ("TS-RED-M", 501, 1, "10.00", "0.00", "0.1"),
                ("TS-BLUE-L", 502, 3, "12.50", "0.00", "0.1"),
            ]
        )
        self._deliver(payload)
        order = self._sale_order(1001)
        self.assertEqual(order.order_line.product_id, self.red_m | self.blue_l)
        binding = self.env["channel.product.binding"].search(
            [("backend_id", "=", self.backend.id), ("external_ref", "=", "502")]
        )
        self.assertEqual(binding.product_id, self.blue_l)
        # The SKU changes on the channel: the variant binding still maps it.
        renamed = self._order(
            order_id=1002, lines=[("BLUE-L-NEW", 502, 1, "12.50", "0.00", "0.1")]
        )
        self._deliver(renamed)
        self.assertEqual(self._sale_order(1002).order_line.product_id, self.blue_l)

    def test_tax_included_prices_keep_the_total(self):
        payload = self._order(
            lines=[("TS-RED-M", 501, 3, "19.99", "0.00", "0.2")], taxes_included=True
        )
        self._deliver(payload)
        order = self._sale_order(1001)
        self.assertEqual(order.order_line.tax_ids, self.tax_included)
        self.assertAlmostEqual(order.amount_total, 59.97)
        self.assertEqual(order.state, "sale")

    def test_discounts_and_shipping(self):
        payload = self._order(
            lines=[
                ("TS-RED-M", 501, 2, "25.00", "5.00", "0.2"),
                ("TS-BLUE-L", 502, 1, "40.00", "4.00", "0.2"),
            ],
            shipping=[("4.90", "0.2")],
            taxes_included=True,
        )
        self._deliver(payload)
        order = self._sale_order(1001)
        self.assertAlmostEqual(order.amount_total, 85.90)  # 45 + 36 + 4.90
        discount_lines = order.order_line.filtered(
            lambda line: line.product_id == self.backend.discount_product_id
        )
        self.assertEqual(sorted(discount_lines.mapped("price_unit")), [-5.0, -4.0])
        shipping = order.order_line.filtered(
            lambda line: line.product_id == self.backend.shipping_product_id
        )
        self.assertEqual(shipping.price_unit, 4.90)
        self.assertEqual(shipping.product_id, self.backend.shipping_product_id)

    def test_guest_and_repeat_customer_share_one_partner(self):
        guest = self._order(order_id=2001, customer=None, email="Jane.Doe@Example.com ")
        again = self._order(order_id=2002, customer=None, email="jane.doe@example.com")
        self._deliver(guest)
        self._deliver(again)
        first, second = self._sale_order(2001), self._sale_order(2002)
        self.assertEqual(first.partner_id, second.partner_id)
        self.assertEqual(first.partner_id.email, "jane.doe@example.com")
        binding = self.env["channel.partner.binding"].search(
            [("partner_id", "=", first.partner_id.id)]
        )
        self.assertEqual(binding.external_ref, "email:jane.doe@example.com")
        self.assertEqual(binding.match_rule, "created")
        # Same shipping address twice: one delivery contact.
        self.assertEqual(first.partner_shipping_id, second.partner_shipping_id)
        self.assertEqual(first.partner_shipping_id.parent_id, first.partner_id)

    def test_registered_customer_found_again_by_id(self):
        self._deliver(self._order(order_id=3001))
        changed_email = self._order(order_id=3002)
        changed_email["customer"] = {**changed_email["customer"], "email": "new@x.com"}
        self._deliver(changed_email)
        self.assertEqual(
            self._sale_order(3001).partner_id, self._sale_order(3002).partner_id
        )

    def test_unknown_sku_waits_then_retry_completes(self):
        payload = self._order(lines=[("TS-GREEN-S", 503, 1, "10.00", "0.00", "0.1")])
        event = self._deliver(payload)
        self.assertFalse(self._sale_order(1001))
        self.assertEqual(event.state, "failed")
        exception = self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.backend.id),
                ("exception_type", "=", "missing_mapping"),
            ]
        )
        self.assertIn("SKU TS-GREEN-S", exception.name)
        self.assertFalse(
            self.env["product.product"].search([("default_code", "=", "TS-GREEN-S")]),
            "no product is created silently",
        )
        self._product("T-shirt green S", "TS-GREEN-S")
        exception.with_user(self.ops_user).action_retry()
        order = self._sale_order(1001)
        self.assertEqual(order.state, "sale")
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(event.state, "done")

    def test_unmapped_tax_waits(self):
        payload = self._order(lines=[("TS-RED-M", 501, 1, "10.00", "0.00", "0.07")])
        self._deliver(payload)
        self.assertFalse(self._sale_order(1001))
        exception = self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.backend.id),
                ("exception_type", "=", "missing_mapping"),
            ]
        )
        self.assertIn("7.0", exception.name)

    def test_total_mismatch_holds_the_order(self):
        payload = self._order(lines=[("TS-RED-M", 501, 1, "10.00", "0.00", "0.1")])
        payload["total_price_set"] = shop_money("11.50")
        self._deliver(payload)
        order = self._sale_order(1001)
        self.assertEqual(order.state, "draft", "not confirmed while totals differ")
        exception = self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.backend.id),
                ("exception_type", "=", "total_mismatch"),
            ]
        )
        self.assertIn("11.50", exception.name)
        self.assertEqual(exception.sale_order_id, order)

    def _deliver_with_wrong_tax(self):
        """A 10 % order whose 10 % channel tax is mapped to a 12 % Odoo tax:
        a held quotation waiting on a total mismatch."""
        wrong = self._tax("Sales tax 12%", 12, "tax_excluded")
        mapping = self.env["channel.tax.mapping"].search(
            [("backend_id", "=", self.backend.id), ("rate", "=", 10)]
        )
        mapping.tax_id = wrong
        payload = self._order(lines=[("TS-RED-M", 501, 2, "10.00", "0.00", "0.1")])
        event = self._deliver(payload)
        exception = self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.backend.id),
                ("exception_type", "=", "total_mismatch"),
            ]
        )
        self.assertEqual(exception.state, "open")
        self.assertEqual(event.state, "failed")
        return mapping, exception, event

    def test_retry_without_a_fix_keeps_the_mismatch_open_and_the_quotation(self):
        _mapping, exception, event = self._deliver_with_wrong_tax()
        exception.with_user(self.ops_user).action_retry()
        sale_order = self._sale_order(1001)
        self.assertEqual(exception.state, "open", "the total still differs")
        self.assertEqual(sale_order.state, "draft")
        self.assertTrue(sale_order.channel_binding_ids.is_on_hold)
        self.assertTrue(sale_order.channel_binding_ids.is_import_pending)
        self.assertEqual(event.state, "failed")

    def test_retry_after_fixing_the_tax_mapping_rebuilds_and_confirms(self):
        mapping, exception, event = self._deliver_with_wrong_tax()
        mapping.tax_id = self.tax_excluded
        exception.with_user(self.ops_user).action_retry()
        sale_order = self._sale_order(1001)
        self.assertEqual(exception.state, "resolved")
        self._assert_confirmed_at(sale_order, "22.00")
        self.assertEqual(sale_order.order_line.tax_ids, self.tax_excluded)
        binding = sale_order.channel_binding_ids
        self.assertFalse(binding.is_on_hold, "the mismatch hold is lifted")
        self.assertFalse(binding.is_import_pending)
        self.assertEqual(event.state, "done")
        # Complete now: the same body again is a plain duplicate.
        again = self._deliver(
            self._order(lines=[("TS-RED-M", 501, 2, "10.00", "0.00", "0.1")]),
            event_id="evt-again",
        )
        self.assertEqual(again.state, "duplicate")

    def test_same_second_change_is_applied_and_same_content_is_a_duplicate(self):
        """Channels stamp updated_at in whole seconds: two changes within one
        second share it, and the later one delivered must win."""
        self.backend.order_confirm = False
        stamp = "2026-11-01T10:00:00Z"
        self._deliver(self._order(updated_at=stamp))
        changed = self._order(
            lines=[("TS-RED-M", 501, 4, "10.00", "0.00", "0.1")], updated_at=stamp
        )
        event = self._deliver(changed, topic="orders/updated", event_id="evt-same-1")
        self.assertEqual(event.state, "done")
        sale_order = self._sale_order(1001)
        self.assertEqual(sale_order.order_line.product_uom_qty, 4)
        again = self._deliver(changed, topic="orders/updated", event_id="evt-same-2")
        self.assertEqual(again.state, "duplicate")
        older = self._order(
            lines=[("TS-RED-M", 501, 7, "10.00", "0.00", "0.1")],
            updated_at="2026-11-01T09:59:59Z",
        )
        late = self._deliver(older, topic="orders/updated", event_id="evt-older")
        self.assertEqual(late.state, "ignored")
        self.assertEqual(sale_order.order_line.product_uom_qty, 4)

    def test_converted_order_books_rounding_only_within_the_conversion_gap(self):
        """Paid in GBP, amounts in the shop currency: a cent of conversion
        rounding gets a line; a euro off is still a mismatch."""
        for ref, total, expected_state in (
            (1001, "11.01", "sale"),
            (1002, "12.00", "draft"),
        ):
            payload = self._order(
                lines=[("TS-RED-M", 501, 1, "10.00", "0.00", "0.1")], order_id=ref
            )
            payload["presentment_currency"] = "GBP"
            payload["total_price_set"] = shop_money(total)
            self._deliver(payload, event_id=f"evt-{ref}")
            order = self._sale_order(ref)
            self.assertEqual(order.state, expected_state)
            rounding = order.order_line.filtered(
                lambda line: line.product_id == self.backend.rounding_product_id
            )
            self.assertEqual(rounding.price_unit, 0.01 if ref == 1001 else 0.0)
        mismatches = self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.backend.id),
                ("exception_type", "=", "total_mismatch"),
            ]
        )
        self.assertEqual(len(mismatches), 1, "only the euro is a mismatch")

    def test_duplicate_delivery_and_replay_make_one_order(self):
        payload = self._order()
        self._deliver(payload)
        self._deliver(payload, event_id="another-event-same-content")
        orders = self.env["sale.order"].search([("client_order_ref", "=", "#1001")])
        self.assertEqual(len(orders), 1)
        events = self.env["channel.event"].search(
            [("backend_id", "=", self.backend.id)]
        )
        self.assertEqual(sorted(events.mapped("state")), ["done", "duplicate"])

    def test_update_of_quotation_and_out_of_order_delivery(self):
        self.backend.order_confirm = False
        first = self._order(updated_at="2026-11-01T10:00:00Z")
        self._deliver(first)
        newer = self._order(
            lines=[("TS-RED-M", 501, 5, "10.00", "0.00", "0.1")],
            updated_at="2026-11-01T12:00:00Z",
        )
        self._deliver(newer, topic="orders/updated", event_id="evt-newer")
        order = self._sale_order(1001)
        self.assertEqual(order.order_line.product_uom_qty, 5)
        older = self._order(
            lines=[("TS-RED-M", 501, 3, "10.00", "0.00", "0.1")],
            updated_at="2026-11-01T11:00:00Z",
        )
        event = self._deliver(older, topic="orders/updated", event_id="evt-older")
        self.assertEqual(event.state, "ignored")
        self.assertEqual(order.order_line.product_uom_qty, 5, "older never overwrites")

    def test_cancellation_cancels_or_credits_the_invoice(self):
        self._deliver(self._order(order_id=4001))
        cancelled = self._order(
            order_id=4001,
            cancelled_at="2026-11-01T13:00:00Z",
            updated_at="2026-11-01T13:00:00Z",
        )
        self._deliver(cancelled, topic="orders/cancelled")
        self.assertEqual(self._sale_order(4001).state, "cancel")

        self.backend.order_create_invoice = True
        self._deliver(self._order(order_id=4002))
        invoiced = self._sale_order(4002)
        self.assertEqual(invoiced.invoice_ids.state, "posted")
        late = self._order(
            order_id=4002,
            cancelled_at="2026-11-01T13:00:00Z",
            updated_at="2026-11-01T13:00:00Z",
        )
        self._deliver(late, topic="orders/cancelled")
        # Nothing shipped: credited whole, the open invoice offset, cancelled.
        self.assertEqual(invoiced.state, "cancel")
        invoice = invoiced.invoice_ids.filtered(lambda m: m.move_type == "out_invoice")
        credit_note = invoiced.invoice_ids - invoice
        self.assertEqual(credit_note.reversed_entry_id, invoice)
        self.assertEqual(credit_note.state, "posted")
        self.assertAlmostEqual(credit_note.amount_total, invoice.amount_total)
        self.assertFalse(invoice.amount_residual, "offset by the credit note")
        self.assertFalse(
            self.env["channel.exception"].search([("sale_order_id", "=", invoiced.id)])
        )

    def test_multi_currency_order_uses_a_pricelist_in_its_currency(self):
        eur = self.env.ref("base.EUR")
        eur.active = True
        payload = self._order(currency="EUR")
        payload["total_price_set"] = shop_money("20.00", "EUR")
        self._deliver(payload)
        order = self._sale_order(1001)
        self.assertEqual(order.currency_id, eur)
        self.assertEqual(order.pricelist_id.currency_id, eur)
        self.assertAlmostEqual(order.amount_total, 20.00)

    def test_high_risk_order_is_held(self):
        payload = self._order()
        order_data = self.backend._get_adapter(priority="orders").parse_order(payload)
        risky = dataclasses.replace(
            order_data, is_high_risk=True, risk_reasons=("VPN",)
        )
        binding, outcome = self.env["channel.order.binding"]._import_order(
            self.backend, risky
        )
        self.assertEqual(outcome, "done")
        self.assertTrue(binding.is_on_hold)
        picking = binding.sale_order_id.picking_ids
        self.assertTrue(picking.channel_risk_hold)
        with self.assertRaisesRegex(UserError, "high-risk channel orders"):
            picking.button_validate()
        self.assertNotEqual(picking.state, "done")
        self.assertTrue(binding.sale_order_id.activity_ids)

    def test_high_risk_quotation_is_held_and_stays_held_once_confirmed(self):
        self.backend.order_confirm = False
        order_data = self.backend._get_adapter(priority="orders").parse_order(
            self._order()
        )
        risky = dataclasses.replace(
            order_data, is_high_risk=True, risk_reasons=("Card declined twice",)
        )
        binding, outcome = self.env["channel.order.binding"]._import_order(
            self.backend, risky
        )
        sale_order = binding.sale_order_id
        self.assertEqual((outcome, sale_order.state), ("done", "draft"))
        self.assertTrue(binding.is_on_hold)
        self.assertTrue(sale_order.channel_risk_hold)
        activity = sale_order.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertIn("Card declined twice", activity.note)
        # Someone confirms it later: its delivery is created held.
        sale_order.action_confirm()
        picking = sale_order.picking_ids
        self.assertTrue(picking.channel_risk_hold)
        with self.assertRaisesRegex(UserError, "high-risk"):
            picking.button_validate()
        self.assertEqual(len(sale_order.activity_ids), 1, "one activity, not two")
        # Checked and released: a later update of the order does not hold it again.
        picking.action_channel_release_hold()
        later = dataclasses.replace(
            risky,
            updated_at=risky.updated_at + timedelta(hours=1),
            source_payload_digest="later",
        )
        self.env["channel.order.binding"]._import_order(self.backend, later)
        self.assertFalse(picking.channel_risk_hold)

    def test_status_rules_change_the_import_action(self):
        Rule = self.env["channel.order.status.rule"]
        # Paid Shopify orders are confirmed by default; this shop checks them.
        Rule.create(
            {
                "backend_id": self.backend.id,
                "financial_status": "Paid",
                "action": "quotation",
            }
        )
        # ...but fulfilled ones (shipped by the channel) are confirmed at once.
        Rule.create(
            {
                "backend_id": self.backend.id,
                "sequence": 1,
                "financial_status": "paid",
                "fulfillment_status": "fulfilled",
                "action": "confirm",
            }
        )
        # And nothing partially fulfilled is imported until it is complete.
        Rule.create(
            {
                "backend_id": self.backend.id,
                "sequence": 2,
                "fulfillment_status": "partially_fulfilled",
                "action": "wait",
            }
        )
        self._deliver(self._order(order_id=8001))
        self.assertEqual(self._sale_order(8001).state, "draft")
        self._deliver(self._order(order_id=8002, fulfillment_status="fulfilled"))
        self.assertEqual(self._sale_order(8002).state, "sale")
        event = self._deliver(self._order(order_id=8003, fulfillment_status="partial"))
        self.assertEqual(event.state, "ignored")
        self.assertFalse(self._sale_order(8003))
        other = self._prepare_backend("shopify", state="connected")
        self.assertEqual(
            other._get_order_action(
                self.backend._get_adapter(priority="orders").parse_order(
                    self._order(order_id=8004)
                )
            ),
            "confirm",
            "rules are per backend",
        )

    def test_status_rules_are_edited_in_the_backend_form(self):
        arch = self.env["channel.backend"].get_view(view_type="form")["arch"]
        self.assertIn('name="order_status_rule_ids"', arch)
        self.assertIn('name="fulfillment_status"', arch)
        self.assertIn("paid → confirm", self.backend.default_status_table)
        with self.assertRaises(ValidationError):
            self.env["channel.order.status.rule"].create(
                {"backend_id": self.backend.id, "action": "wait"}
            )

    def _with_order_discount(self, payload, amount):
        """Add a discount on no line (what Shopify leaves unallocated), taxed
        as channels tax it: after the discount. The channel spreads it over
        the product lines by their net (cents, the last line takes the rest)
        and taxes what each line has left; only the total and the tax lines
        say so, no allocation does."""
        amount = Decimal(amount)
        included = payload["taxes_included"]
        lines = payload["line_items"]
        nets = [self._line_net(line) for line in lines]
        left = amount
        for position, (line, net) in enumerate(zip(lines, nets, strict=True)):
            share = (amount * net / sum(nets)).quantize(Decimal("0.01"))
            share = left if position == len(lines) - 1 else share
            left -= share
            for tax in line["tax_lines"]:
                taxed = self._tax_lines(
                    net - share, Decimal(str(tax["rate"])), included
                )
                tax["price_set"] = taxed[0]["price_set"]
        self._fill_totals(payload, included)
        total = Decimal(payload["total_price_set"]["shop_money"]["amount"]) - amount
        discounts = Decimal(payload["total_discounts_set"]["shop_money"]["amount"])
        payload["total_price_set"] = shop_money(total)
        payload["total_price"] = str(total)
        payload["total_discounts_set"] = shop_money(discounts + amount)
        payload["total_discounts"] = str(discounts + amount)
        return payload, total

    @staticmethod
    def _line_net(line):
        return Decimal(line["price_set"]["shop_money"]["amount"]) * line[
            "quantity"
        ] - sum(
            (
                Decimal(a["amount_set"]["shop_money"]["amount"])
                for a in line["discount_allocations"]
            ),
            Decimal(0),
        )

    def _order_discount_lines(self, sale_order, label="Unallocated discount"):
        """The discount lines of the order-level discount: {taxes: price}."""
        lines = sale_order.order_line.filtered(
            lambda line: (
                line.product_id == self.backend.discount_product_id
                and label in line.name
            )
        )
        return {line.tax_ids: line.price_unit for line in lines}

    def _assert_confirmed_at(self, sale_order, total):
        """Confirmed (else the exceptions say why) at the channel's total."""
        self.assertEqual(
            sale_order.state,
            "sale",
            self.env["channel.exception"].search([]).mapped("technical_detail"),
        )
        self.assertEqual(
            sale_order.currency_id.compare_amounts(
                sale_order.amount_total, float(total)
            ),
            0,
        )

    def test_order_discount_on_tax_excluded_order_keeps_the_channel_total(self):
        for order_id, rounding in ((9001, "round_per_line"), (9011, "round_globally")):
            with self.subTest(rounding=rounding):
                self.env.company.tax_calculation_rounding_method = rounding
                payload, total = self._with_order_discount(
                    self._order(
                        order_id=order_id,
                        lines=[
                            ("TS-RED-M", 501, 3, "19.99", "0.00", "0.1"),
                            ("TS-BLUE-L", 502, 1, "7.30", "0.00", "0.1"),
                        ],
                        shipping=[("4.90", "0.1")],
                    ),
                    "6.67",
                )
                # The channel taxes 59.97 - 5.95 and 7.30 - 0.72 (5.40 +
                # 0.66) and 4.90 of shipping (0.49): 6.55, not the 7.22 of
                # the undiscounted lines.
                tax = payload["total_tax_set"]["shop_money"]["amount"]
                self.assertEqual(tax, "6.55")
                self._deliver(payload)
                sale_order = self._sale_order(order_id)
                self._assert_confirmed_at(sale_order, total)
                # 67.27 of goods + 4.90 of shipping - 6.67 + 6.55 of tax
                self.assertAlmostEqual(sale_order.amount_total, 72.05)
                self.assertAlmostEqual(sale_order.amount_tax, 6.55)
                self.assertEqual(
                    self._order_discount_lines(sale_order),
                    {self.tax_excluded: -6.67},
                    "one tax group: one discount line, with its tax",
                )

    def test_order_discount_on_tax_included_order_keeps_the_channel_total(self):
        payload, total = self._with_order_discount(
            self._order(
                order_id=9002,
                lines=[("TS-RED-M", 501, 3, "19.99", "1.00", "0.2")],
                shipping=[("4.90", "0.2")],
                taxes_included=True,
            ),
            "3.33",
        )
        # VAT of 58.97 - 3.33 (9.27) and of 4.90 of shipping (0.82).
        self.assertEqual(payload["total_tax_set"]["shop_money"]["amount"], "10.09")
        self._deliver(payload)
        sale_order = self._sale_order(9002)
        self._assert_confirmed_at(sale_order, total)
        self.assertAlmostEqual(sale_order.amount_total, 60.54)  # 58.97 + 4.90 - 3.33
        self.assertAlmostEqual(sale_order.amount_tax, 10.09)
        self.assertEqual(
            self._order_discount_lines(sale_order), {self.tax_included: -3.33}
        )

    def test_order_discount_is_spread_over_tax_groups_by_their_base(self):
        reduced = self._reduced_tax()
        payload, total = self._with_order_discount(
            self._order(
                order_id=9003,
                lines=[
                    ("TS-RED-M", 501, 2, "30.00", "0.00", "0.1"),
                    ("TS-BLUE-L", 502, 1, "20.00", "0.00", "0.05"),
                ],
                shipping=[("5.00", "0.1")],
            ),
            "8.00",
        )
        self._deliver(payload)
        sale_order = self._sale_order(9003)
        self._assert_confirmed_at(sale_order, total)
        # 60 and 20 of goods share 8.00 as 6.00 and 2.00; shipping takes none.
        self.assertEqual(
            self._order_discount_lines(sale_order),
            {self.tax_excluded: -6.00, reduced: -2.00},
        )
        # 5.40 + 0.90 + 0.50 of shipping
        self.assertAlmostEqual(sale_order.amount_tax, 6.80)
        self.assertAlmostEqual(sale_order.amount_total, 83.80)

    def _reduced_tax(self):
        """A 5 % tax-excluded tax, mapped: a second tax group."""
        reduced = self._tax("Sales tax 5%", 5, "tax_excluded")
        self.env["channel.tax.mapping"].create(
            {"backend_id": self.backend.id, "rate": 5, "tax_id": reduced.id}
        )
        return reduced

    def test_order_discount_in_a_currency_not_active_yet_is_split_in_cents(self):
        chf = self.env.ref("base.CHF")
        chf.active = False  # the first order in CHF activates it
        reduced = self._reduced_tax()
        payload, total = self._with_order_discount(
            self._order(
                order_id=9004,
                lines=[
                    ("TS-RED-M", 501, 1, "10.00", "0.00", "0.1"),
                    ("TS-BLUE-L", 502, 2, "10.00", "0.00", "0.05"),
                ],
                currency="CHF",
            ),
            "1.00",
        )
        self._deliver(payload)
        sale_order = self._sale_order(9004)
        self.assertEqual(sale_order.currency_id, chf)
        self._assert_confirmed_at(sale_order, total)
        self.assertEqual(
            self._order_discount_lines(sale_order),
            {self.tax_excluded: -0.33, reduced: -0.67},
        )
        self.assertAlmostEqual(sale_order.amount_tax, 1.94)  # 0.97 + 0.97

    def test_order_discount_shares_sum_to_the_discount_to_the_cent(self):
        shares = split_in_proportion(
            Decimal("1.00"),
            {"a": Decimal("10"), "b": Decimal("10"), "c": Decimal("10")},
            Decimal("0.01"),
        )
        self.assertEqual(
            sorted(shares.values()), [Decimal("0.33")] * 2 + [Decimal("0.34")]
        )
        shares = split_in_proportion(
            Decimal("6.67"),
            {"a": Decimal("59.97"), "b": Decimal("7.30"), "c": Decimal("-2")},
            Decimal("0.01"),
        )
        self.assertEqual(shares, {"a": Decimal("5.95"), "b": Decimal("0.72")})
        self.assertEqual(split_in_proportion(Decimal("5"), {"a": Decimal(0)}, 1), {})

    def test_title_specific_tax_mapping_wins_over_the_rate_mapping(self):
        state_tax = self._tax("CA State Tax 10%", 10, "tax_excluded")
        # Created after the backend's "any title" 10 % mapping, same sequence.
        self.env["channel.tax.mapping"].create(
            {
                "backend_id": self.backend.id,
                "rate": 10,
                "title": "CA State Tax",
                "tax_id": state_tax.id,
            }
        )
        payload = self._order(
            order_id=9101,
            lines=[
                ("TS-RED-M", 501, 1, "10.00", "0.00", "0.1"),
                ("TS-BLUE-L", 502, 1, "20.00", "0.00", "0.1"),
            ],
        )
        payload["line_items"][0]["tax_lines"][0]["title"] = "ca state tax "
        self._deliver(payload)
        lines = self._sale_order(9101).order_line
        by_product = {line.product_id: line.tax_ids for line in lines}
        self.assertEqual(by_product[self.red_m], state_tax)
        self.assertEqual(by_product[self.blue_l], self.tax_excluded)

    def test_cancelling_a_delivered_order_raises_an_exception(self):
        self._deliver(self._order(order_id=9201))
        sale_order = self._sale_order(9201)
        picking = sale_order.picking_ids
        picking.move_ids.quantity = 2
        picking.move_ids.picked = True
        picking.button_validate()
        self.assertEqual(picking.state, "done")
        cancelled = self._order(
            order_id=9201,
            cancelled_at="2026-11-02T09:00:00Z",
            updated_at="2026-11-02T09:00:00Z",
        )
        event = self._deliver(cancelled, topic="orders/cancelled")
        self.assertEqual(event.state, "failed")
        self.assertEqual(sale_order.state, "sale", "goods left: not cancelled")
        exception = self.env["channel.exception"].search(
            [("sale_order_id", "=", sale_order.id)]
        )
        self.assertEqual(exception.exception_type, "validation")
        self.assertIn("already delivered", exception.name)

    def test_sku_is_unique_per_company(self):
        Product = self.env["product.product"]
        mine = self._product("Mug", "MUG-1", company_id=self.env.company.id)
        with self.assertRaisesRegex(ValidationError, "MUG-1"):
            self._product("Other mug", "MUG-1", company_id=self.env.company.id)
        theirs = self._product("Mug", "MUG-1", company_id=self.other_company.id)
        self.assertNotEqual(mine, theirs, "another company may reuse a SKU")
        with self.assertRaisesRegex(ValidationError, "MUG-1"):
            self._product("Shared mug", "MUG-1")  # a shared product clashes
        with self.assertRaisesRegex(ValidationError, "TS-RED-M"):
            self._product("Red", "TS-RED-M", company_id=self.other_company.id)
        with self.assertRaisesRegex(ValidationError, "MUG-1"):
            Product.browse(self.blue_l.id).default_code = "MUG-1"

    def _partner_of(self, order_id):
        return self._sale_order(order_id).partner_id

    def test_guest_email_matches_an_existing_partner_exactly(self):
        Partner = self.env["res.partner"]
        # `_` is a LIKE wildcard: this contact must not be taken for jane_doe.
        decoy = Partner.create({"name": "Decoy", "email": "janexdoe@example.com"})
        jane = Partner.create({"name": "Jane Doe", "email": "Jane_Doe@Example.com"})
        payload = self._order(
            order_id=2101, customer=None, email="jane_doe@example.com"
        )
        self._deliver(payload)
        self.assertEqual(self._partner_of(2101), jane)
        self.assertNotEqual(self._partner_of(2101), decoy)
        binding = self.env["channel.partner.binding"].search(
            [("partner_id", "=", jane.id)]
        )
        self.assertEqual(binding.match_rule, "email")

    def test_guest_phone_matches_an_existing_partner_by_normalized_number(self):
        france = self.env.ref("base.fr")
        # Made by hand in Odoo, phone typed as a French national number.
        pierre = self.env["res.partner"].create(
            {"name": "Pierre", "phone": "06 12 34 56 78", "country_id": france.id}
        )
        self.env["res.partner"].create({"name": "Other", "phone": "+1 612 345 678"})
        payload = self._order(
            order_id=2201,
            customer=None,
            email=None,
            contact_email=None,
            phone="+33 6 12-34-56-78",
        )
        self._deliver(payload)
        self.assertEqual(self._partner_of(2201), pierre)
        binding = self.env["channel.partner.binding"].search(
            [("partner_id", "=", pierre.id)]
        )
        self.assertEqual(
            (binding.external_ref, binding.match_rule), ("phone:+33612345678", "phone")
        )
        # The next order gives the national number with a French address.
        again = self._order(
            order_id=2202,
            customer=None,
            email=None,
            contact_email=None,
            phone="06.12.34.56.78",
        )
        again["billing_address"] = {
            **again["billing_address"],
            "country_code": "FR",
        }
        self._deliver(again)
        self.assertEqual(self._partner_of(2202), pierre)

    def test_normalize_phone(self):
        self.assertEqual(normalize_phone("+33 6 12 34 56 78"), "+33612345678")
        self.assertEqual(normalize_phone("0033 612345678"), "+33612345678")
        self.assertEqual(normalize_phone("06 12 34 56 78", "33"), "+33612345678")
        self.assertEqual(normalize_phone("(555) 123-4567", "1"), "+15551234567")
        self.assertEqual(normalize_phone("555-1234"), "5551234")
        self.assertIsNone(normalize_phone("123"))

    def test_restoring_an_archived_product_checks_its_sku(self):
        company = self.env.company
        old = self._product("Old mug", "MUG-9", company_id=company.id)
        old.active = False
        new = self._product("New mug", "MUG-9", company_id=company.id)
        with self.assertRaisesRegex(ValidationError, "MUG-9"):
            old.active = True
        new.active = False
        old.active = True  # the SKU is free again
        self.assertTrue(old.active)

    def test_sku_clash_hidden_from_the_user_is_still_found(self):
        """A user working in one company cannot read the other company's
        products; their shared product clashes with them all the same (the
        constraint runs sudo'ed), and the message does not name what they may
        not read. Odoo's rules cannot hide a product of the user's own
        company from them, so a same-company clash is never hidden."""
        self._product("Their mug", "MUG-B", company_id=self.other_company.id)
        user = new_test_user(
            self.env,
            login="channel_catalogue",
            groups="base.group_user,product.group_product_manager",
            company_id=self.env.company.id,
            company_ids=[Command.set(self.env.company.ids)],
        )
        Product = self.env["product.product"].with_user(user)
        self.assertFalse(Product.search([("default_code", "=", "MUG-B")]))
        shared = Product.create({"name": "Shared mug", "default_code": "MUG-S"})
        with self.assertRaisesRegex(
            ValidationError, r"MUG-B is already used by a product of Other Company"
        ):
            shared.default_code = "MUG-B"


class WooOrderCommon(OrderImportCommon):
    """A WooCommerce backend that invoices and pays, from the reference order."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.woo = cls._prepare_backend(
            "woocommerce",
            webhook_secret=SECRET,
            state="connected",
            order_create_invoice=True,
            order_register_payment=True,
        )
        cls.env["channel.tax.mapping"].create(
            {
                "backend_id": cls.woo.id,
                "rate": 7.5,
                "tax_id": cls._tax("CA 7.5%", 7.5, "tax_excluded").id,
            }
        )
        cls.env["channel.payment.mapping"].create(
            {"backend_id": cls.woo.id, "gateway": "bacs", "journal_id": cls.bank.id}
        )
        cls.woo_sample = json.loads(
            reference_path("woocommerce", "order__retrieve.json").read_text()
        )

    def _deliver_woo(self, payload):
        body = json.dumps(payload).encode()
        headers = {
            "X-WC-Webhook-Topic": "order.updated",
            "X-WC-Webhook-Resource": "order",
            "X-WC-Webhook-Event": "updated",
            "X-WC-Webhook-ID": "3",
            "X-WC-Webhook-Delivery-ID": "d1",
            "X-WC-Webhook-Signature": sign_base64(SECRET, body),
        }
        with trap_jobs() as trap:
            self.env["channel.event"]._receive_delivery(self.woo, headers, body)
            trap.perform_enqueued_jobs()
            trap.perform_enqueued_jobs()

    def _woo_order(self, transaction_id):
        payload = copy.deepcopy(self.woo_sample)
        payload["transaction_id"] = transaction_id
        payload["date_paid_gmt"] = "2026-11-01T10:00:00"
        for line, product in zip(
            payload["line_items"], (self.red_m, self.blue_l), strict=True
        ):
            line["sku"] = product.default_code
        return payload


@tagged("post_install", "-at_install")
class TestOrderToCash(WooOrderCommon):
    def test_payment_carries_the_transaction_id(self):
        self._deliver_woo(self._woo_order("ch_3PqR7x2eZvKYlo2C"))
        order = self._sale_order(727, backend=self.woo)
        self.assertEqual(order.state, "sale")
        invoice = order.invoice_ids
        self.assertEqual(invoice.state, "posted")
        self.assertAlmostEqual(invoice.amount_total, 29.35)
        payment = self.env["account.payment"].search(
            [("memo", "=", "ch_3PqR7x2eZvKYlo2C")]
        )
        self.assertEqual(payment.journal_id, self.bank)
        self.assertAlmostEqual(payment.amount, 29.35)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))

    def test_payment_without_transaction_id_is_reported(self):
        self._deliver_woo(self._woo_order(""))
        order = self._sale_order(727, backend=self.woo)
        exception = self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.woo.id),
                ("exception_type", "=", "payment_missing_reference"),
            ]
        )
        self.assertEqual(len(exception), 1)
        self.assertEqual(exception.payment_id.memo, order.client_order_ref)

    def _receive_vector(self, backend, headers, body):
        """A reference delivery, signed bytes untouched, through the pipeline."""
        with trap_jobs() as trap:
            status, _text = self.env["channel.event"]._receive_delivery(
                backend, headers, body
            )
            self.assertEqual(status, 200)
            trap.perform_enqueued_jobs()
            trap.perform_enqueued_jobs()
        return self.env["channel.event"].search(
            [("backend_id", "=", backend.id)], limit=1
        )

    def _map_woocommerce_reference_products(self):
        """What an operator does for the reference order: a product for the SKU
        "Bar3", and one mapped to the SKU-less simple product 93."""
        self._product("Ship Your Idea - Black M", "Bar3")
        single = self._product("Woo Single #1", "WOO-SINGLE-1")
        self.env["channel.product.binding"].create(
            {
                "backend_id": self.woo.id,
                "company_id": self.env.company.id,
                "external_ref": "93",
                "product_id": single.id,
            }
        )
        return single

    def test_reference_payloads_import_without_error(self):
        # WooCommerce: the real order.created then order.updated bodies.
        self.woo.webhook_secret = WOOCOMMERCE_VECTOR_SECRET
        single = self._map_woocommerce_reference_products()
        created = self._receive_vector(self.woo, *woocommerce_vector("order.created"))
        self.assertEqual((created.state, created.error), ("done", False))
        order = self._sale_order(727, backend=self.woo)
        self.assertEqual(order.state, "sale")
        self.assertEqual(
            order.order_line.product_id.filtered("is_storable"),
            single
            | self.env["product.product"].search([("default_code", "=", "Bar3")]),
        )
        self.assertAlmostEqual(order.amount_total, 29.35)
        self.assertEqual(order.invoice_ids.state, "posted")
        # The update completes the order on WooCommerce: shipped there, so
        # its Odoo delivery is validated (from stock Odoo must hold).
        delivery = order.picking_ids
        for product in order.order_line.product_id.filtered("is_storable"):
            self.env["stock.quant"]._update_available_quantity(
                product, delivery.location_id, 5
            )
        updated = self._receive_vector(self.woo, *woocommerce_vector("order.updated"))
        self.assertNotEqual(updated, created)
        self.assertEqual((updated.state, updated.error), ("done", False))
        binding = order.channel_binding_ids
        self.assertEqual(binding.financial_status, "completed")
        self.assertEqual(delivery.state, "done")
        self.assertEqual(len(order.invoice_ids), 1, "the update invoices nothing twice")
        errors = self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.woo.id),
                ("exception_type", "!=", "payment_missing_reference"),
            ]
        )
        self.assertFalse(errors.mapped("name"))

    def test_reference_shopify_orders_are_voided_so_ignored(self):
        """Every Shopify order body in the reference is the docs' one sample,
        cancelled and voided: acknowledged, never imported."""
        for line in self.sample["line_items"]:
            self._product(line["name"], line["sku"])  # not ignored for a SKU
        for topic in ("orders/updated", "orders/cancelled"):
            name = topic.replace("/", "__")
            body = reference_path("shopify", "webhooks", f"{name}.json").read_bytes()
            event = self._deliver(json.loads(body), topic=topic)
            self.assertEqual((event.state, event.error), ("ignored", False))
        self.backend.webhook_secret = SHOPIFY_VECTOR_SECRET
        event = self._receive_vector(self.backend, *shopify_vector("orders/create"))
        self.assertEqual((event.state, event.topic), ("ignored", "orders/create"))
        self.assertFalse(self._sale_order(self.sample["id"]))

    def test_reference_shopify_order_lines_build_the_channel_total(self):
        """No real Shopify order in the reference is unvoided: its lines,
        unallocated discount and shipping are built as the import would, with
        only the cancellation lifted from the parsed order (bytes untouched)."""
        for line in self.sample["line_items"]:
            self._product(line["name"], line["sku"])
        parsed = self.backend._get_adapter(priority="orders").parse_order(self.sample)
        self.assertEqual(self.backend._get_order_action(parsed), "cancel")
        live = dataclasses.replace(parsed, cancelled_at=None, financial_status="paid")
        binding, outcome = self.env["channel.order.binding"]._import_order(
            self.backend, live
        )
        order = binding.sale_order_id
        self.assertEqual((outcome, order.state), ("done", "sale"))
        self.assertEqual(len(order.order_line.filtered("product_id.is_storable")), 5)
        self.assertAlmostEqual(order.amount_total, 404.95)  # 414.95 - 20 + 10

    def test_second_company_backend_creates_everything_there(self):
        other = self._prepare_backend(
            "shopify",
            webhook_secret=SECRET,
            state="connected",
            company_id=self.other_company.id,
        )
        other_tax = (
            self.env["account.tax"]
            .with_company(self.other_company)
            .create(
                {
                    "name": "Other 10%",
                    "amount": 10,
                    "type_tax_use": "sale",
                    "company_id": self.other_company.id,
                }
            )
        )
        self.env["channel.tax.mapping"].create(
            {"backend_id": other.id, "rate": 10, "tax_id": other_tax.id}
        )
        self._product(
            "Other company shirt", "TS-RED-M-OC", company_id=self.other_company.id
        )
        payload = self._order(lines=[("TS-RED-M-OC", 901, 1, "10.00", "0.00", "0.1")])
        self._deliver(payload, backend=other)
        order = self._sale_order(1001, backend=other)
        self.assertEqual(order.company_id, self.other_company)
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.order_line.tax_ids, other_tax)
        self.assertFalse(self._sale_order(1001), "not in the first backend")
        self.assertEqual(
            order.partner_invoice_id.commercial_partner_id, order.partner_id
        )

    def test_routing_rule_sends_order_to_another_company(self):
        self.env["channel.order.route"].create(
            {
                "backend_id": self.backend.id,
                "criterion": "ship_country",
                "country_ids": [Command.set(self.env.ref("base.us").ids)],
                "target_company_id": self.other_company.id,
            }
        )
        # The mapped tax belongs to the backend's company: its twin in the
        # routed company (same rate and kind) is used.
        route_tax = (
            self.env["account.tax"]
            .with_company(self.other_company)
            .create(
                {
                    "name": "Routed 10%",
                    "amount": 10,
                    "type_tax_use": "sale",
                    "price_include_override": "tax_excluded",
                    "company_id": self.other_company.id,
                }
            )
        )
        payload = self._order(lines=[("TS-RED-M", 501, 1, "10.00", "0.00", "0.1")])
        self._deliver(payload)
        order = self._sale_order(1001)
        self.assertEqual(order.company_id, self.other_company)
        self.assertEqual(order.order_line.tax_ids, route_tax)
        self.assertEqual(order.state, "sale")

    def test_two_captures_without_transaction_id_are_both_registered(self):
        """Both share the order-name memo: the memo cannot tell them apart,
        their gateway, amount and position do."""
        payload = self._woo_order("")
        payload["date_paid_gmt"] = None  # nothing captured at import
        self._deliver_woo(payload)
        sale_order = self._sale_order(727, backend=self.woo)
        self.assertEqual(sale_order.invoice_ids.state, "posted")
        capture = PaymentTransactionData(
            None, "bacs", "sale", "success", Decimal("10.00"), "USD"
        )
        dated = dataclasses.replace(
            capture, processed_at=fields.Datetime.now() - timedelta(days=1)
        )
        order = dataclasses.replace(
            self.woo._get_adapter(priority="orders").parse_order(payload),
            transactions=(dated, capture),  # the second one has no date either
        )
        Payment = self.env["account.payment"]
        for _run in range(2):  # the second run finds both registered
            Payment._channel_register_payments(
                self.woo, order, sale_order.invoice_ids, sale_order.channel_binding_ids
            )
        payments = Payment.search([("memo", "=", sale_order.client_order_ref)])
        self.assertEqual(payments.mapped("amount"), [10.0, 10.0])
        self.assertEqual(len(set(payments.mapped("channel_transaction_key"))), 2)


@tagged("post_install", "-at_install")
class TestMissingSkuRetry(OrderImportCommon, SimulatorCommon):
    """Several orders, delivered or pulled, waiting on one unknown SKU."""

    catalogue_size = 1  # the simulator sells SIM-000001; Odoo has no such product

    @classmethod
    def _catalogue(cls, count, quantity=4):
        return {}

    def _sim_order(self):
        return self.sim.scenario.create_order(
            channel="shopify",
            notify=False,
            lines=[("SIM-000001", 1)],
            tax_rate="0",
            shipping=None,
            customer="repeat",
            financial_status="paid",
        )

    def test_retry_imports_every_order_waiting_on_the_sku(self):
        self.backend.write(
            {"api_url": self.sim.base_url, "shopify_access_token": "shpat_sim_token"}
        )
        # Two delivered orders, not on the channel: their bodies are used.
        delivered = [
            self._order(order_id=ref, lines=[("SIM-000001", 100001, 1, "9", "0", None)])
            for ref in (6001, 6002)
        ]
        events = self.env["channel.event"]
        for payload in delivered:
            events |= self._deliver(payload)
        pulled = self._sim_order()
        self.backend.backfill_since = fields.Datetime.now() - timedelta(days=1)
        with trap_jobs() as trap:
            self.backend.action_start_backfill()
            while trap.enqueued_jobs:  # the page, then its orders
                trap.perform_enqueued_jobs()
        self.assertEqual(self.backend.backfill_id.failed, 1)
        self.assertEqual(events.mapped("state"), ["failed", "failed"])
        exception = self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.backend.id),
                ("exception_type", "=", "missing_mapping"),
            ]
        )
        self.assertEqual(len(exception), 1, "one problem, one exception")
        self.assertEqual(exception.occurrences, 3)
        pull_event = self.env["channel.event"].search(
            [("backend_id", "=", self.backend.id), ("topic", "=", ORDER_PULL_TOPIC)]
        )
        self.assertEqual(pull_event.resource_ref, str(pulled["id"]))
        self.assertEqual(set(exception._get_retry_targets()), set(events | pull_event))
        self.assertTrue(exception.can_retry, "a pulled order can be retried too")

        self._product("Simulated variant", "SIM-000001")
        exception.with_user(self.ops_user).action_retry()
        for ref in (6001, 6002, pulled["id"]):
            self.assertEqual(self._sale_order(ref).state, "sale")
        self.assertEqual(set((events | pull_event).mapped("state")), {"done"})
        self.assertEqual(exception.state, "resolved")

    def test_one_order_succeeding_keeps_the_exception_for_the_others(self):
        first, second = (
            self._order(order_id=ref, lines=[("TS-NEW", 590, 1, "10.00", "0.00", None)])
            for ref in (5001, 5002)
        )
        first_event = self._deliver(first)
        second_event = self._deliver(second)
        exception = self.env["channel.exception"].search(
            [("backend_id", "=", self.backend.id), ("state", "=", "open")]
        )
        self._product("New shirt", "TS-NEW")
        # An operator replays only the first event: the second still waits.
        first_event._channel_retry()
        self.assertEqual(first_event.state, "done")
        self.assertEqual(exception.state, "open")
        self.assertEqual(exception._get_retry_targets(), [second_event])
        exception.action_retry()
        self.assertEqual(second_event.state, "done")
        self.assertEqual(exception.state, "resolved")


@tagged("post_install", "-at_install")
class TestOrderRouting(OrderImportCommon):
    """Orders routed to another company: location, market, SKU owner; paid there."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_warehouse = cls.env["stock.warehouse"].create(
            {"name": "EU hub", "code": "EUH", "company_id": cls.other_company.id}
        )
        cls.Route = cls.env["channel.order.route"]

    def _route(self, **values):
        return self.Route.create({"backend_id": self.backend.id, **values})

    def _untaxed_order(self, order_id, sku="TS-RED-M", **values):
        variant = order_id  # one channel variant per order: no binding reused
        return self._order(
            order_id=order_id,
            lines=[(sku, variant, 1, "10.00", "0.00", None)],
            **values,
        )

    def test_location_route_uses_its_company_and_warehouse(self):
        self._route(
            criterion="location",
            location_ref="4455",
            target_company_id=self.other_company.id,
            warehouse_id=self.other_warehouse.id,
        )
        self._deliver(self._untaxed_order(7001, location_id=4455))
        self._deliver(self._untaxed_order(7002, location_id=1))
        routed, stayed = self._sale_order(7001), self._sale_order(7002)
        self.assertEqual(routed.company_id, self.other_company)
        self.assertEqual(routed.warehouse_id, self.other_warehouse)
        self.assertEqual(
            routed.picking_ids.picking_type_id.warehouse_id, self.other_warehouse
        )
        self.assertEqual(stayed.company_id, self.env.company)

    def test_market_route(self):
        self._route(
            criterion="location",
            location_ref="eu",
            target_company_id=self.other_company.id,
        )
        order = self.backend._get_adapter(priority="orders").parse_order(
            self._untaxed_order(7101)
        )
        binding, _outcome = self.env["channel.order.binding"]._import_order(
            self.backend, dataclasses.replace(order, market="eu")
        )
        self.assertEqual(binding.sale_order_id.company_id, self.other_company)
        self.assertEqual(binding.company_id, self.other_company)

    def test_sku_owner_route_follows_the_products_company(self):
        self._route(criterion="sku_owner")
        owned = self._product(
            "EU-only shirt", "TS-EU-ONLY", company_id=self.other_company.id
        )
        self._deliver(self._untaxed_order(7201, sku="TS-EU-ONLY"))
        self._deliver(self._untaxed_order(7202))
        routed = self._sale_order(7201)
        self.assertEqual(routed.company_id, self.other_company)
        self.assertEqual(routed.order_line.product_id, owned)
        self.assertEqual(
            self._sale_order(7202).company_id,
            self.env.company,
            "shared products have no owner: the backend's company",
        )

    def test_route_warehouse_must_belong_to_its_company(self):
        main_warehouse = self.env["stock.warehouse"].search(
            [("company_id", "=", self.env.company.id)], limit=1
        )
        with self.assertRaises(ValidationError):
            self._route(
                criterion="location",
                location_ref="x",
                target_company_id=self.other_company.id,
                warehouse_id=main_warehouse.id,
            )


@tagged("post_install", "-at_install")
class TestRoutedPayment(WooOrderCommon):
    """A WooCommerce order routed to another company is paid in its journal."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["channel.order.route"].create(
            {
                "backend_id": cls.woo.id,
                "criterion": "ship_country",
                "country_ids": [Command.set(cls.env.ref("base.us").ids)],
                "target_company_id": cls.other_company.id,
            }
        )
        cls.env["account.tax"].with_company(cls.other_company).create(
            {
                "name": "Other CA 7.5%",
                "amount": 7.5,
                "type_tax_use": "sale",
                "price_include_override": "tax_excluded",
                "company_id": cls.other_company.id,
            }
        )

    def test_routed_order_is_paid_in_the_routed_company_journal(self):
        twin = self.env["account.journal"].search(
            [
                ("company_id", "=", self.other_company.id),
                ("type", "=", "bank"),
                ("code", "=", self.bank.code),
            ]
        )
        self.assertTrue(twin, "the routed company has the same bank journal")
        self._deliver_woo(self._woo_order("ch_routed_1"))
        order = self._sale_order(727, backend=self.woo)
        self.assertEqual(order.company_id, self.other_company)
        self.assertEqual(order.invoice_ids.company_id, self.other_company)
        payment = self.env["account.payment"].search([("memo", "=", "ch_routed_1")])
        self.assertEqual(payment.journal_id, twin)
        self.assertEqual(payment.company_id, self.other_company)
        self.assertIn(order.invoice_ids.payment_state, ("paid", "in_payment"))

    def test_no_journal_in_the_routed_company_is_an_exception(self):
        only_main = self.env["account.journal"].create(
            {"name": "Channel clearing", "code": "CHCL", "type": "bank"}
        )
        self.env["channel.payment.mapping"].search(
            [("backend_id", "=", self.woo.id)]
        ).journal_id = only_main
        self._deliver_woo(self._woo_order("ch_routed_2"))
        self.assertFalse(
            self.env["account.payment"].search([("memo", "=", "ch_routed_2")])
        )
        exception = self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.woo.id),
                ("exception_type", "=", "missing_mapping"),
            ]
        )
        self.assertIn("routed to Other Company", exception.name)
        self.assertIn("CHCL", exception.name)
        self.assertEqual(exception.state, "open", "the import's success leaves it")
        self.assertEqual(exception.sale_order_id, self._sale_order(727, self.woo))
        # Finance opens the journal in the routed company, then retries.
        twin = (
            self.env["account.journal"]
            .with_company(self.other_company)
            .create(
                {
                    "name": "Channel clearing",
                    "code": "CHCL",
                    "type": "bank",
                    "company_id": self.other_company.id,
                }
            )
        )
        exception.with_user(self.finance_user).action_retry()
        self.assertEqual(exception.state, "resolved")
        payment = self.env["account.payment"].search([("memo", "=", "ch_routed_2")])
        self.assertEqual(payment.journal_id, twin)
