"""Channel refunds over HTTP: the simulator refunds an order, its signed
`refunds/create` reaches the real endpoint, and the event's job reads the
refund through GraphQL and books a credit note, its payment and the return."""

import base64
import json
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from unittest.mock import patch

from odoo import Command, fields, sql_db
from odoo.exceptions import UserError
from odoo.tests import get_db_name, tagged

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.tests.common import trap_jobs

from ..adapters.signatures import sign_base64
from ..sql import queries
from .common import generic_delivery, validate_in_full
from .test_simulator_webhooks import SIM_SHOPIFY_SECRET, SimulatorWebhookCase

GATEWAY = "shopify_payments"


class RefundCommon(SimulatorWebhookCase):
    catalogue_size = 2

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bank = cls.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", cls.env.company.id)], limit=1
        )
        cls.shopify.write(
            {"order_create_invoice": True, "order_register_payment": True}
        )
        cls.env["channel.payment.mapping"].create(
            {
                "backend_id": cls.shopify.id,
                "gateway": GATEWAY,
                "journal_id": cls.bank.id,
            }
        )
        # The channel rounds taxes per line (see the backend's warning).
        cls.env.company.tax_calculation_rounding_method = "round_per_line"
        Tax = cls.env["account.tax"]
        for included in (False, True):
            tax = Tax.create(
                {
                    "name": f"VAT 20% {'incl.' if included else 'excl.'}",
                    "amount": 20,
                    "amount_type": "percent",
                    "type_tax_use": "sale",
                    "price_include_override": "tax_included"
                    if included
                    else "tax_excluded",
                }
            )
            cls.env["channel.tax.mapping"].create(
                {
                    "backend_id": cls.shopify.id,
                    "rate": 20,
                    "price_included": included,
                    "tax_id": tax.id,
                }
            )

    def setUp(self):
        super().setUp()
        self._channel_acts(self.shopify._sync_webhook_subscriptions)
        self.Refund = self.env["channel.refund.binding"]

    def _sell(self, notify=True, **options):
        """A paid Shopify order of 2 x SIM-000001 and 1 x SIM-000002, taxed,
        with shipping; imported through its webhooks unless `notify` is off."""
        spec = {
            "channel": "shopify",
            "lines": [("SIM-000001", 2), ("SIM-000002", 1)],
            "financial_status": "paid",
            "gateway": GATEWAY,
            "tax_rate": "0.20",
            "shipping": "5.00",
            "notify": notify,
            **options,
        }
        create = self.sim.scenario.create_order
        if notify:
            return self._channel_acts(lambda: create(**spec))
        return create(**spec)

    def _ship(self, order):
        """The warehouse ships the whole delivery of the order in Odoo."""
        picking = self._sale_order(self.shopify, order).picking_ids
        validate_in_full(picking)
        self.assertEqual(picking.state, "done")
        return picking

    def _refund(self, order, **options):
        return self._channel_acts(
            lambda: self.sim.scenario.refund_order("shopify", order["id"], **options)
        )

    def _binding(self, refund):
        return self.Refund.search(
            [("backend_id", "=", self.shopify.id), ("external_ref", "=", refund["id"])]
        )

    def _sim_refund(self, order, refund_id=None):
        """The simulator's record of a refund of `order` (default: the last)."""
        records = self.sim.state.shopify_orders[str(order["id"])]["refunds"]
        if refund_id is None:
            return records[-1]
        return next(r for r in records if r["id"] == refund_id)

    def _assert_booked(self, refund, order):
        """Done, with a posted credit note of the refund's amount reversing
        the order's invoice, paid back with the refund transaction id."""
        binding = self._binding(refund)
        self.assertEqual(binding.state, "done", binding.missing)
        credit_note = binding.credit_note_id
        invoice = self._sale_order(self.shopify, order).invoice_ids.filtered(
            lambda m: m.move_type == "out_invoice"
        )
        self.assertEqual(credit_note.move_type, "out_refund")
        self.assertEqual(credit_note.state, "posted")
        self.assertEqual(credit_note.reversed_entry_id, invoice)
        self.assertAlmostEqual(credit_note.amount_total, float(refund["amount"]))
        transaction = self._sim_refund(order, refund["id"])["transactions"][0]
        payment = binding.payment_ids
        self.assertEqual(payment.memo, transaction["authorization"])
        self.assertEqual(payment.payment_type, "outbound")
        self.assertEqual(payment.journal_id, self.bank)
        self.assertAlmostEqual(payment.amount, float(refund["amount"]))
        self.assertIn(credit_note.payment_state, ("paid", "in_payment"))
        return binding


@tagged("post_install", "-at_install")
class TestShopifyRefunds(RefundCommon):
    def test_partial_refund_with_restock_of_a_delivered_order(self):
        order = self._sell()
        delivery = self._ship(order)
        refund = self._refund(order, lines=[("SIM-000001", 1)], restock=True)
        binding = self._assert_booked(refund, order)
        event = self._events(self.shopify, "refunds/create")
        self.assertEqual(event.state, "done")
        self.assertEqual(event.res_model, "channel.refund.binding")
        self.assertEqual(event.res_id, binding.id)
        returned = binding.return_picking_ids
        self.assertEqual(len(returned), 1)
        self.assertEqual(returned.picking_type_code, "incoming")
        self.assertEqual(returned.return_id, delivery)
        self.assertNotEqual(returned.state, "done", "waits for the goods")
        self.assertEqual(returned.move_ids.product_uom_qty, 1.0)
        self.assertTrue(returned.move_ids.to_refund)
        self.assertEqual(returned.move_ids.product_id.default_code, "SIM-000001")
        # Received: the sale line's delivered quantity goes down by one.
        validate_in_full(returned)
        sale_line = returned.move_ids.sale_line_id
        self.assertEqual(sale_line.qty_delivered, 1.0)
        self.assertEqual(
            binding.order_binding_id.refund_ids, binding, "shown on the order"
        )

    def test_returns_are_received_at_once_when_the_backend_says_so(self):
        self.shopify.refund_receive_returns = True
        order = self._sell()
        self._ship(order)
        refund = self._refund(order, lines=[("SIM-000002", 1)], restock=True)
        self.assertEqual(self._binding(refund).return_picking_ids.state, "done")

    def test_refund_before_delivery_reduces_the_delivery(self):
        order = self._sell()
        refund = self._refund(
            order, lines=[("SIM-000001", 1), ("SIM-000002", 1)], restock=True
        )
        binding = self._assert_booked(refund, order)
        self.assertFalse(binding.return_picking_ids, "nothing shipped to return")
        moves = self._sale_order(self.shopify, order).picking_ids.move_ids
        by_sku = {m.product_id.default_code: m for m in moves}
        self.assertEqual(by_sku["SIM-000001"].product_uom_qty, 1.0)
        self.assertNotEqual(by_sku["SIM-000001"].state, "cancel")
        self.assertEqual(by_sku["SIM-000002"].state, "cancel")

    def test_cancel_restock_type_before_delivery_cancels_the_line(self):
        order = self._sell()
        refund = self._refund(order, lines=[("SIM-000002", 1)], restock_type="cancel")
        self._assert_booked(refund, order)
        moves = self._sale_order(self.shopify, order).picking_ids.move_ids
        self.assertEqual(
            moves.filtered(lambda m: m.product_id.default_code == "SIM-000002").state,
            "cancel",
        )

    def test_shipping_only_refund(self):
        order = self._sell()
        self._ship(order)
        refund = self._refund(order, shipping=True)
        self.assertEqual(refund["amount"], "6.00", "5.00 + 20 % tax")
        binding = self._assert_booked(refund, order)
        lines = binding.credit_note_id.invoice_line_ids
        self.assertEqual(lines.product_id, self.shopify.shipping_product_id)
        self.assertFalse(binding.return_picking_ids)

    def test_amount_only_adjustment(self):
        order = self._sell()
        refund = self._refund(order, adjustment="7.35", note="Late delivery")
        binding = self._assert_booked(refund, order)
        line = binding.credit_note_id.invoice_line_ids
        self.assertEqual(
            line.product_id,
            self.env.ref("channel_connector.product_channel_refund_adjustment"),
        )
        self.assertAlmostEqual(line.price_total, 7.35)
        self.assertFalse(binding.return_picking_ids)

    def test_no_restock_refund_of_a_delivered_order_moves_no_stock(self):
        order = self._sell()
        self._ship(order)
        refund = self._refund(order, lines=[("SIM-000001", 2)], restock=False)
        binding = self._assert_booked(refund, order)
        self.assertFalse(binding.return_picking_ids)
        pickings = self._sale_order(self.shopify, order).picking_ids
        self.assertEqual(len(pickings), 1, "no return picking made")

    def test_two_partial_refunds_then_the_rest(self):
        order = self._sell()
        self._ship(order)
        first = self._refund(order, lines=[("SIM-000001", 1)])
        second = self._refund(order, lines=[("SIM-000002", 1)])
        rest = self._refund(order, lines=[("SIM-000001", 1)], shipping=True)
        bindings = self._binding(first) | self._binding(second) | self._binding(rest)
        self.assertEqual(set(bindings.mapped("state")), {"done"})
        credit_notes = bindings.credit_note_id
        self.assertEqual(len(credit_notes), 3)
        sale_order = self._sale_order(self.shopify, order)
        self.assertAlmostEqual(
            sum(credit_notes.mapped("amount_total")), sale_order.amount_total
        )
        self.assertAlmostEqual(sale_order.amount_total, float(order["total"]))
        self.assertEqual(
            sum(bindings.return_picking_ids.move_ids.mapped("product_uom_qty")), 3.0
        )
        sim_order = self.sim.state.shopify_orders[str(order["id"])]
        self.assertEqual(sim_order["financial_status"], "refunded")
        self.assertEqual(
            self._binding(rest).order_binding_id.financial_status, "refunded"
        )

    def test_duplicate_and_replayed_refund_deliveries_book_one_credit_note(self):
        order = self._sell()
        refund = self._refund(order, lines=[("SIM-000001", 1)])
        event = self._events(self.shopify, "refunds/create")
        body = base64.b64decode(event.raw_body)
        headers = {
            **event.headers,
            "Content-Type": "application/json",
            "X-Shopify-Hmac-Sha256": sign_base64(SIM_SHOPIFY_SECRET, body),
        }
        # The same delivery again: the inbox counts a duplicate.
        self.assertEqual(self._post(self.shopify, headers, body).status_code, 200)
        self.assertEqual(self._events(self.shopify, "refunds/create"), event)
        # Redelivered as a new event, and the operator replays the first.
        headers["X-Shopify-Event-Id"] = "replayed-event"
        with trap_jobs() as trap:
            self.assertEqual(self._post(self.shopify, headers, body).status_code, 200)
            event.action_force_replay()
            self._run_trapped(trap)
        events = self._events(self.shopify, "refunds/create")
        self.assertEqual(len(events), 2)
        self.assertEqual(set(events.mapped("state")), {"duplicate"})
        binding = self._binding(refund)
        self.assertEqual(len(binding), 1)
        moves = self.env["account.move"].search(
            [("move_type", "=", "out_refund"), ("ref", "=", binding.name)]
        )
        self.assertEqual(moves, binding.credit_note_id, "one credit note")
        self.assertEqual(len(binding.payment_ids), 1)

    def test_refund_before_its_order_is_imported_waits_then_applies(self):
        order = self._sell(notify=False)
        with trap_jobs():
            refund = self._channel_sends(
                lambda: self.sim.scenario.refund_order(
                    "shopify", order["id"], lines=[("SIM-000001", 1)]
                )
            )
            event = self._events(self.shopify, "refunds/create")
            with self.assertRaises(RetryableJobError):
                event.with_env(self.env)._job_process()
        self.assertEqual(event.state, "queued", "waits, not dropped")
        self.assertFalse(self._binding(refund))
        # A reconciliation pull leaves the order to the orders/updated
        # delivery the refund came with, waiting in the inbox; that delivery
        # imports the order with its refund, and the waiting refund job then
        # finds it applied.
        self._reconcile(self.shopify)
        self.assertFalse(self._binding(refund))
        updated = self._events(self.shopify, "orders/updated")
        self.assertEqual(updated._job_process(), "done")
        self._assert_booked(refund, order)
        self.assertEqual(event._job_process(), "done")
        self.assertEqual(event.state, "duplicate")
        self.assertEqual(len(self._binding(refund).credit_note_id), 1)

    def test_tax_included_order_with_order_discount_refunded_to_the_cent(self):
        order = self._sell(taxes_included=True, order_discount="3.33")
        self._ship(order)
        refunds = [
            self._refund(order, lines=[("SIM-000001", 1)]),
            self._refund(order, lines=[("SIM-000001", 1), ("SIM-000002", 1)]),
        ]
        for refund in refunds:
            self._assert_booked(refund, order)
        # Every cent of the discounted order came back, nothing more.
        refunded = sum(Decimal(r["amount"]) for r in refunds)
        self.assertEqual(refunded, Decimal(order["total"]) - Decimal("5.00"))

    def test_backfill_of_an_already_refunded_order(self):
        order = self._sell(notify=False)
        refund = self.sim.scenario.refund_order(
            "shopify", order["id"], lines=[("SIM-000002", 1)], notify=False
        )
        self.shopify.backfill_since = fields.Datetime.now() - timedelta(days=1)
        with trap_jobs() as trap:
            self.shopify.action_start_backfill()
            while trap.enqueued_jobs:
                trap.perform_enqueued_jobs()
        sale_order = self._sale_order(self.shopify, order)
        invoice = sale_order.invoice_ids.filtered(
            lambda m: m.move_type == "out_invoice"
        )
        self.assertAlmostEqual(invoice.amount_total, float(order["total"]))
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self._assert_booked(refund, order)

    def test_store_credit_refund_books_the_credit_note_without_payment(self):
        order = self._sell()
        refund = self._refund(order, lines=[("SIM-000002", 1)], money_moved=False)
        self.assertEqual(refund["amount"], "0.00")
        binding = self._binding(refund)
        self.assertEqual(binding.state, "done")
        self.assertEqual(binding.credit_note_id.state, "posted")
        self.assertGreater(binding.credit_note_id.amount_total, 0)
        self.assertFalse(binding.payment_ids)
        self.assertIn(
            "no refund payment",
            " ".join(binding.credit_note_id.message_ids.mapped("body")),
        )

    def test_total_mismatch_leaves_the_credit_note_in_draft(self):
        order = self._sell()
        with trap_jobs() as trap:
            refund = self._channel_sends(
                lambda: self.sim.scenario.refund_order(
                    "shopify", order["id"], lines=[("SIM-000001", 1)]
                )
            )
            # The channel gave back one unit more than it itemised.
            record = self._sim_refund(order)
            record["amount"] += 1
            record["transactions"][0]["amount"] += 1
            self._run_trapped(trap)
        binding = self._binding(refund)
        self.assertEqual(binding.state, "incomplete")
        self.assertEqual(binding.credit_note_id.state, "draft")
        self.assertFalse(binding.payment_ids)
        exception = self._exceptions(self.shopify, "refund_incomplete")
        self.assertEqual(len(exception), 1)
        expected = Decimal(refund["amount"]) + 1
        self.assertIn(f"{expected:.2f}", exception.name)
        self.assertIn(f"{Decimal(refund['amount']):.2f}", exception.name)

    def test_refund_gateway_without_journal_then_retry_pays_it_back(self):
        order = self._sell()
        self._ship(order)
        # The refund goes back through another gateway, mapped to no journal.
        with trap_jobs() as trap:
            refund = self._channel_sends(
                lambda: self.sim.scenario.refund_order(
                    "shopify", order["id"], lines=[("SIM-000001", 1)]
                )
            )
            self._sim_refund(order)["transactions"][0]["gateway"] = "paypal"
            self._run_trapped(trap)
        binding = self._binding(refund)
        self.assertEqual(binding.state, "incomplete")
        self.assertEqual(binding.missing, "refund payment")
        self.assertEqual(binding.credit_note_id.state, "posted")
        self.assertEqual(len(binding.return_picking_ids), 1)
        exception = self._exceptions(self.shopify, "refund_incomplete")
        self.assertIn("paypal", exception.name)
        self.env["channel.payment.mapping"].create(
            {
                "backend_id": self.shopify.id,
                "gateway": "paypal",
                "journal_id": self.bank.id,
            }
        )
        returns = binding.return_picking_ids
        exception.with_user(self.finance_user).action_retry()
        self.assertEqual(binding.state, "done")
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(binding.return_picking_ids, returns, "no second return")
        self.assertEqual(len(binding.payment_ids), 1)
        self.assertIn(binding.credit_note_id.payment_state, ("paid", "in_payment"))

    def test_order_never_invoiced_gets_its_return_but_no_credit_note(self):
        self.shopify.order_create_invoice = False
        order = self._sell()
        self._ship(order)
        refund = self._refund(order, lines=[("SIM-000001", 1)])
        binding = self._binding(refund)
        self.assertEqual(binding.state, "incomplete")
        self.assertFalse(binding.credit_note_id)
        self.assertEqual(len(binding.return_picking_ids), 1, "the goods still count")
        exception = self._exceptions(self.shopify, "refund_incomplete")
        self.assertIn("no posted invoice", exception.name)

    def test_return_failing_is_incomplete_then_retry_completes_only_it(self):
        order = self._sell()
        self._ship(order)
        Return = type(self.env["stock.return.picking"])
        with patch.object(
            Return, "_create_return", side_effect=UserError("Return type archived")
        ):
            refund = self._refund(order, lines=[("SIM-000001", 1)])
        binding = self._binding(refund)
        self.assertEqual(binding.state, "incomplete")
        self.assertEqual(binding.credit_note_id.state, "posted", "finance half done")
        self.assertEqual(len(binding.payment_ids), 1)
        self.assertFalse(binding.return_picking_ids)
        exception = self._exceptions(self.shopify, "refund_incomplete")
        self.assertIn("stock return", exception.name)
        self.assertEqual(exception.retry_model, "channel.refund.binding")
        credit_note, payment = binding.credit_note_id, binding.payment_ids
        exception.with_user(self.ops_user).action_retry()
        self.assertEqual(binding.state, "done")
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(binding.return_picking_ids.move_ids.product_uom_qty, 1.0)
        self.assertEqual(binding.credit_note_id, credit_note, "not booked twice")
        self.assertEqual(binding.payment_ids, payment)


@tagged("post_install", "-at_install")
class TestRoutedOrderRefund(RefundCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["account.chart.template"].try_loading(
            "generic_coa", company=cls.other_company, install_demo=False
        )
        cls.env["channel.order.route"].create(
            {
                "backend_id": cls.shopify.id,
                "criterion": "ship_country",
                "country_ids": [Command.set(cls.env.ref("base.us").ids)],
                "target_company_id": cls.other_company.id,
            }
        )

    def test_refund_of_an_order_routed_to_a_second_company_is_booked_there(self):
        order = self._sell(tax_rate="0", country="US")
        sale_order = self._sale_order(self.shopify, order)
        self.assertEqual(sale_order.company_id, self.other_company)
        refund = self._refund(order, lines=[("SIM-000002", 1)], shipping=True)
        binding = self._binding(refund)
        self.assertEqual(binding.state, "done", binding.missing)
        self.assertEqual(binding.company_id, self.other_company)
        self.assertEqual(binding.credit_note_id.company_id, self.other_company)
        self.assertAlmostEqual(
            binding.credit_note_id.amount_total, float(refund["amount"])
        )
        payment = binding.payment_ids
        self.assertEqual(payment.company_id, self.other_company)
        self.assertEqual(payment.journal_id.code, self.bank.code)
        self.assertIn(binding.credit_note_id.payment_state, ("paid", "in_payment"))

    def test_a_routed_order_cancelled_after_a_refund_is_credited_there(self):
        order = self._sell(tax_rate="0", country="US")
        refund = self._refund(order, lines=[("SIM-000002", 1)])
        self.assertEqual(self._binding(refund).state, "done")
        self._channel_acts(
            lambda: self.sim.scenario.cancel_order("shopify", order["id"])
        )
        binding = self.Refund.search(
            [
                ("backend_id", "=", self.shopify.id),
                ("external_ref", "=", f"cancel:{order['id']}"),
            ]
        )
        self.assertEqual(binding.state, "done", binding.missing)
        credit_note = binding.credit_note_id
        self.assertEqual(credit_note.company_id, self.other_company)
        self.assertAlmostEqual(
            credit_note.amount_total,
            float(Decimal(order["total"]) - Decimal(refund["amount"])),
        )
        payment = binding.payment_ids
        self.assertEqual(payment.company_id, self.other_company)
        self.assertEqual(payment.journal_id.code, self.bank.code)
        self.assertAlmostEqual(payment.amount, credit_note.amount_total)
        self.assertEqual(self._sale_order(self.shopify, order).state, "cancel")


@tagged("post_install", "-at_install")
class TestWooCommerceRefunds(RefundCommon):
    """WooCommerce refunds arrive as order.updated: the order lists them, and
    the ones not bound yet are read from `orders/<id>/refunds/<id>`."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.woo.write({"order_create_invoice": True, "order_register_payment": True})
        cls.env["channel.payment.mapping"].create(
            {"backend_id": cls.woo.id, "gateway": "stripe", "journal_id": cls.bank.id}
        )

    def setUp(self):
        super().setUp()
        self._channel_acts(self.woo._sync_webhook_subscriptions)

    def _sell_woo(self):
        order = self._channel_acts(
            lambda: self.sim.scenario.create_order(
                channel="woocommerce",
                lines=[("SIM-000001", 2), ("SIM-000002", 1)],
                tax_rate="0",
                shipping=None,
                financial_status="paid",
                gateway="stripe",
            )
        )
        sale_order = self._sale_order(self.woo, order)
        self.assertEqual(sale_order.state, "sale")
        picking = sale_order.picking_ids
        validate_in_full(picking)
        return order, picking

    def _refund_woo(self, order, **options):
        refund = self._channel_acts(
            lambda: self.sim.scenario.refund_order(
                "woocommerce", order["id"], **options
            )
        )
        binding = self.Refund.search(
            [("backend_id", "=", self.woo.id), ("external_ref", "=", refund["id"])]
        )
        self.assertEqual(binding.state, "done", binding.missing)
        credit_note = binding.credit_note_id
        self.assertEqual(credit_note.state, "posted")
        self.assertAlmostEqual(credit_note.amount_total, float(refund["amount"]))
        self.assertAlmostEqual(binding.payment_ids.amount, float(refund["amount"]))
        self.assertEqual(binding.payment_ids.journal_id, self.bank)
        return binding

    def test_woocommerce_refund_restocks_per_the_default_policy(self):
        self.assertTrue(self.woo.woocommerce_refund_restock)
        order, delivery = self._sell_woo()
        binding = self._refund_woo(order, lines=[("SIM-000001", 1)])
        returned = binding.return_picking_ids
        self.assertEqual(returned.return_id, delivery)
        self.assertEqual(
            [(m.product_id.default_code, m.product_uom_qty) for m in returned.move_ids],
            [("SIM-000001", 1.0)],
        )
        self.assertFalse(self._exceptions(self.woo, "refund_incomplete"))
        # The order.updated that listed the refund, replayed: booked once.
        event = self._events(self.woo, "order.updated")[:1]
        with trap_jobs() as trap:
            event.action_force_replay()
            self._run_trapped(trap)
        credit_notes = self._sale_order(self.woo, order).invoice_ids.filtered(
            lambda m: m.move_type == "out_refund"
        )
        self.assertEqual(credit_notes, binding.credit_note_id)

    def test_woocommerce_refund_without_restock_and_amount_only(self):
        self.woo.woocommerce_refund_restock = False
        order, _delivery = self._sell_woo()
        binding = self._refund_woo(order, lines=[("SIM-000002", 1)])
        self.assertFalse(binding.return_picking_ids, "the policy keeps no stock")
        goodwill = self._refund_woo(order, adjustment="3.50")
        lines = goodwill.credit_note_id.invoice_line_ids
        self.assertEqual(lines.product_id, self.woo.refund_adjustment_product_id)
        self.assertAlmostEqual(goodwill.credit_note_id.amount_total, 3.50)

    def test_refunded_order_of_a_channel_without_refund_import_is_reported(self):
        Backend = type(self.env["channel.backend"])
        self.enterContext(patch.object(Backend, "supports_refund_import", False))
        order = self._channel_acts(
            lambda: self.sim.scenario.create_order(
                channel="woocommerce",
                lines=[("SIM-000001", 1)],
                tax_rate="0",
                shipping=None,
                financial_status="paid",
            )
        )
        self.assertFalse(self._exceptions(self.woo, "refund_incomplete"))
        self._channel_acts(
            lambda: self.sim.scenario.refund_order(
                "woocommerce", order["id"], lines=[("SIM-000001", 1)]
            )
        )
        self.assertEqual(self._sale_order(self.woo, order).state, "sale")
        exception = self._exceptions(self.woo, "refund_incomplete")
        self.assertEqual(len(exception), 1, "said once, not silently booked")
        self.assertIn("refunded on the channel", exception.name)
        self.assertFalse(self.Refund.search([("backend_id", "=", self.woo.id)]))

    def test_refunded_shipping_is_credited_on_the_shipping_product(self):
        order = self._channel_acts(
            lambda: self.sim.scenario.create_order(
                channel="woocommerce",
                lines=[("SIM-000001", 1)],
                tax_rate="0",
                shipping="5.00",
                financial_status="paid",
                gateway="stripe",
            )
        )
        binding = self._refund_woo(order, shipping=True)
        lines = binding.credit_note_id.invoice_line_ids
        self.assertEqual(lines.product_id, self.woo.shipping_product_id)
        self.assertAlmostEqual(sum(lines.mapped("price_total")), 5.00)


@tagged("post_install", "-at_install")
class TestRefundViews(RefundCommon):
    def test_refunds_menu_filters_incomplete_and_awaiting_receipt(self):
        order = self._sell()
        self._ship(order)
        self._refund(order, lines=[("SIM-000001", 1)])
        Refund = self.Refund.with_user(self.finance_user)
        action = self.env.ref("channel_connector.channel_refund_binding_action")
        self.assertEqual(action.res_model, "channel.refund.binding")
        awaiting = Refund.search([("is_awaiting_receipt", "=", True)])
        self.assertEqual(len(awaiting), 1)
        returned = awaiting.sudo().return_picking_ids
        validate_in_full(returned)
        self.assertFalse(Refund.search([("is_awaiting_receipt", "=", True)]))
        self.assertFalse(Refund.search([("state", "!=", "done")]))
        arch = self.env["channel.refund.binding"].get_view(view_type="search")["arch"]
        self.assertIn('name="awaiting_receipt"', arch)
        self.assertIn('name="incomplete"', arch)


@tagged("post_install", "-at_install")
class TestCancellationAfterPayment(RefundCommon):
    def _cancel(self, order):
        return self._channel_acts(
            lambda: self.sim.scenario.cancel_order("shopify", order["id"])
        )

    def _cancellation(self, order):
        return self.Refund.search(
            [
                ("backend_id", "=", self.shopify.id),
                ("external_ref", "=", f"cancel:{order['id']}"),
            ]
        )

    def _assert_credited(self, order):
        """One posted credit note of the whole invoice, paid back through
        the journal the order was paid in."""
        binding = self._cancellation(order)
        self.assertEqual(len(binding), 1)
        self.assertEqual(binding.state, "done", binding.missing)
        self.assertTrue(binding.is_cancellation)
        invoice = self._sale_order(self.shopify, order).invoice_ids.filtered(
            lambda m: m.move_type == "out_invoice"
        )
        credit_note = binding.credit_note_id
        self.assertEqual(credit_note.state, "posted")
        self.assertEqual(credit_note.reversed_entry_id, invoice)
        self.assertAlmostEqual(credit_note.amount_total, float(order["total"]))
        self.assertAlmostEqual(credit_note.amount_tax, invoice.amount_tax)
        payment = binding.payment_ids
        self.assertEqual(payment.payment_type, "outbound")
        self.assertEqual(payment.journal_id, self.bank)
        self.assertAlmostEqual(payment.amount, float(order["total"]))
        self.assertIn(credit_note.payment_state, ("paid", "in_payment"))
        self.assertFalse(self._exceptions(self.shopify, "validation"))
        return binding

    def test_cancelling_a_paid_undelivered_order_credits_it_and_cancels_the_delivery(
        self,
    ):
        order = self._sell()
        picking = self._sale_order(self.shopify, order).picking_ids
        self._cancel(order)
        self.assertTrue(self._events(self.shopify, "orders/cancelled"))
        binding = self._assert_credited(order)
        self.assertFalse(binding.return_picking_ids, "nothing shipped to return")
        self.assertEqual(picking.state, "cancel")
        self.assertEqual(self._sale_order(self.shopify, order).state, "cancel")

    def test_cancelling_a_paid_delivered_order_returns_the_goods(self):
        order = self._sell()
        delivery = self._ship(order)
        self._cancel(order)
        binding = self._assert_credited(order)
        returned = binding.return_picking_ids
        self.assertEqual(returned.return_id, delivery)
        self.assertEqual(returned.picking_type_code, "incoming")
        quantities = {
            m.product_id.default_code: m.product_uom_qty for m in returned.move_ids
        }
        self.assertEqual(quantities, {"SIM-000001": 2.0, "SIM-000002": 1.0})
        self.assertEqual(
            self._sale_order(self.shopify, order).state, "sale", "awaits the return"
        )

    def test_a_replayed_cancellation_makes_one_credit_note(self):
        order = self._sell()
        self._ship(order)
        self._cancel(order)
        event = self._events(self.shopify, "orders/cancelled")
        with trap_jobs() as trap:
            event.action_force_replay()
            self._run_trapped(trap)
        self._cancel(order)
        binding = self._assert_credited(order)
        credit_notes = self._sale_order(self.shopify, order).invoice_ids.filtered(
            lambda m: m.move_type == "out_refund"
        )
        self.assertEqual(credit_notes, binding.credit_note_id)
        self.assertEqual(len(binding.return_picking_ids), 1)

    def test_a_refund_after_a_full_cancellation_credit_is_not_booked_again(self):
        order = self._sell()
        self._cancel(order)
        cancellation = self._assert_credited(order)
        refund = self._refund(order, lines=[("SIM-000001", 1)])
        late = self._binding(refund)
        self.assertEqual(late.state, "done")
        self.assertFalse(late.credit_note_id)
        self.assertFalse(late.payment_ids)
        sale_order = self._sale_order(self.shopify, order)
        self.assertEqual(
            sale_order.invoice_ids.filtered(lambda m: m.move_type == "out_refund"),
            cancellation.credit_note_id,
        )
        self.assertTrue(
            any(
                "not booked again" in str(b)
                for b in sale_order.message_ids.mapped("body")
            )
        )

    def _credit_notes(self, order):
        return self._sale_order(self.shopify, order).invoice_ids.filtered(
            lambda m: m.move_type == "out_refund" and m.state == "posted"
        )

    def _assert_credited_whole(self, order):
        """The credit notes give the invoice back to the cent, nothing more."""
        invoice = self._sale_order(self.shopify, order).invoice_ids.filtered(
            lambda m: m.move_type == "out_invoice"
        )
        credit_notes = self._credit_notes(order)
        self.assertEqual(credit_notes.reversed_entry_id, invoice)
        self.assertEqual(
            round(sum(credit_notes.mapped("amount_total")), 2),
            round(invoice.amount_total, 2),
        )
        self.assertEqual(
            round(sum(credit_notes.mapped("amount_tax")), 2),
            round(invoice.amount_tax, 2),
        )
        return credit_notes

    def test_a_cancellation_after_a_partial_refund_credits_what_is_left(self):
        order = self._sell()
        delivery = self._sale_order(self.shopify, order).picking_ids
        refund = self._refund(order, lines=[("SIM-000001", 1)])
        first = self._assert_booked(refund, order)
        self._cancel(order)
        binding = self._cancellation(order)
        self.assertEqual(binding.state, "done", binding.missing)
        left = Decimal(order["total"]) - Decimal(refund["amount"])
        credit_note = binding.credit_note_id
        self.assertAlmostEqual(credit_note.amount_total, float(left))
        self.assertEqual(
            self._assert_credited_whole(order), first.credit_note_id | credit_note
        )
        quantities = {
            line.product_id.default_code: line.quantity
            for line in credit_note.invoice_line_ids
            if line.sale_line_ids.channel_line_ref
        }
        self.assertEqual(quantities, {"SIM-000001": 1.0, "SIM-000002": 1.0})
        shipping = credit_note.invoice_line_ids.filtered(
            lambda line: line.product_id == self.shopify.shipping_product_id
        )
        self.assertAlmostEqual(shipping.price_subtotal, 5.00)
        payment = binding.payment_ids
        self.assertAlmostEqual(payment.amount, float(left))
        self.assertEqual(payment.journal_id, self.bank)
        self.assertIn(credit_note.payment_state, ("paid", "in_payment"))
        self.assertEqual(delivery.state, "cancel", "nothing left to ship")
        self.assertFalse(binding.return_picking_ids)
        self.assertEqual(self._sale_order(self.shopify, order).state, "cancel")
        self.assertFalse(
            self._exceptions(self.shopify, "refund_incomplete"), "nothing by hand"
        )
        # The merchant refunds the rest on the channel afterwards: bound, not
        # booked again, and its transaction names the payment already made.
        late = self._refund(
            order, lines=[("SIM-000001", 1), ("SIM-000002", 1)], shipping=True
        )
        self.assertAlmostEqual(float(late["amount"]), float(left))
        late_binding = self._binding(late)
        self.assertEqual(late_binding.state, "done")
        self.assertFalse(late_binding.credit_note_id)
        self.assertEqual(self._credit_notes(order), first.credit_note_id | credit_note)
        transaction = self._sim_refund(order, late["id"])["transactions"][0]
        self.assertEqual(payment.memo, transaction["authorization"])
        self.assertEqual(payment.channel_transaction_ref, transaction["id"])

    def test_a_delivered_order_cancelled_with_its_refund_is_credited_once(self):
        """Shopify refunds what is left with the cancellation: that refund
        is the credit note (its transaction the memo), the cancellation adds
        nothing, and the shipped units not refunded yet come back."""
        order = self._sell()
        delivery = self._ship(order)
        self._channel_knows_shipped(order)
        refund = self._refund(order, lines=[("SIM-000001", 1)])
        first = self._assert_booked(refund, order)
        summary = self._cancel_with_refund(order)
        final = summary["refund"]
        self.assertAlmostEqual(
            float(final["amount"]),
            float(Decimal(order["total"]) - Decimal(refund["amount"])),
        )
        self._assert_booked(final, order)
        self.assertEqual(
            self._credit_notes(order),
            first.credit_note_id | self._binding(final).credit_note_id,
        )
        self._assert_credited_whole(order)
        self.assertFalse(self._cancellation(order).credit_note_id)
        returns = delivery.return_ids.filtered(lambda p: p.state != "cancel")
        returned = defaultdict(float)
        for move in returns.move_ids:
            returned[move.product_id.default_code] += move.product_uom_qty
        self.assertEqual(dict(returned), {"SIM-000001": 2.0, "SIM-000002": 1.0})
        self.assertEqual(self._sale_order(self.shopify, order).state, "sale")
        # Every delivery of the cancellation again: nothing more.
        with trap_jobs() as trap:
            for event in self._events(self.shopify).filtered(
                lambda e: e.topic in ("orders/cancelled", "refunds/create")
            ):
                event.action_force_replay()
            self._run_trapped(trap)
        self.assertEqual(len(self._credit_notes(order)), 2)
        self.assertEqual(
            len(delivery.return_ids.filtered(lambda p: p.state != "cancel")),
            len(returns),
        )
        self.assertFalse(self._exceptions(self.shopify, "refund_incomplete"))

    def test_an_undelivered_order_cancelled_with_its_refund_cancels_its_delivery(
        self,
    ):
        order = self._sell()
        delivery = self._sale_order(self.shopify, order).picking_ids
        refund = self._refund(order, lines=[("SIM-000002", 1)])
        self._assert_booked(refund, order)
        final = self._cancel_with_refund(order)["refund"]
        self._assert_booked(final, order)
        self._assert_credited_whole(order)
        self.assertEqual(delivery.state, "cancel")
        self.assertFalse(delivery.return_ids)
        self.assertEqual(self._sale_order(self.shopify, order).state, "cancel")
        self.assertFalse(self._cancellation(order).credit_note_id)

    def test_a_discounted_tax_included_order_cancelled_after_a_refund_to_the_cent(
        self,
    ):
        order = self._sell(taxes_included=True, order_discount="3.33")
        self._ship(order)
        refund = self._refund(order, lines=[("SIM-000001", 1)], shipping=True)
        self._assert_booked(refund, order)
        self._cancel(order)
        binding = self._cancellation(order)
        self.assertEqual(binding.state, "done", binding.missing)
        self.assertAlmostEqual(
            binding.credit_note_id.amount_total,
            float(Decimal(order["total"]) - Decimal(refund["amount"])),
        )
        self._assert_credited_whole(order)
        self.assertEqual(
            sorted(
                (m.product_id.default_code, m.product_uom_qty)
                for m in binding.return_picking_ids.move_ids
            ),
            [("SIM-000001", 1.0), ("SIM-000002", 1.0)],
        )

    def test_a_refund_waits_while_its_order_is_being_credited(self):
        """A cancellation and a refund of one order credit it one after the
        other: each reads the credit notes the other posts."""
        order = self._sell()
        with trap_jobs():
            refund = self._channel_sends(
                lambda: self.sim.scenario.refund_order(
                    "shopify", order["id"], lines=[("SIM-000001", 1)]
                )
            )
        event = self._events(self.shopify, "refunds/create")
        key = self.Refund._lock_key(self.shopify, f"order:{order['id']}")
        with sql_db.db_connect(get_db_name()).cursor() as other:
            # Another worker is crediting the order (its cancellation).
            self.assertTrue(queries.try_lock(other, key))
            with self.assertRaises(RetryableJobError):
                event._job_process()
            self.assertFalse(self._binding(refund), "nothing booked meanwhile")
            other.rollback()
        self.assertEqual(event._job_process(), "done")
        self._assert_booked(refund, order)

    def _channel_knows_shipped(self, order):
        """The channel holds the whole order as fulfilled (what the
        fulfilment export reports once the delivery is done)."""
        sim_order = self.sim.state.shopify_orders[str(order["id"])]
        self.sim.book.fulfill(
            sim_order, {line["id"]: line["quantity"] for line in sim_order["lines"]}
        )

    def _cancel_with_refund(self, order):
        return self._channel_acts(
            lambda: self.sim.scenario.cancel_order("shopify", order["id"], refund=True)
        )


class GenericRefundCommon(RefundCommon):
    """A connected generic backend paid through stripe, and a paid order."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.generic = cls._prepare_backend(
            "generic",
            state="connected",
            order_create_invoice=True,
            order_register_payment=True,
        )
        cls.env["channel.payment.mapping"].create(
            {
                "backend_id": cls.generic.id,
                "gateway": "stripe",
                "journal_id": cls.bank.id,
            }
        )
        cls.env["channel.tax.mapping"].create(
            {
                "backend_id": cls.generic.id,
                "rate": 20,
                "price_included": False,
                "tax_id": cls.env["account.tax"]
                .search([("name", "=", "VAT 20% excl.")], limit=1)
                .id,
            }
        )

    def _deliver(self, topic, payload):
        body = json.dumps(payload).encode()
        headers, body = generic_delivery(
            body, "generic_webhook_secret", **{"X-Channel-Topic": topic}
        )
        with trap_jobs() as trap:
            self.assertEqual(self._post(self.generic, headers, body).status_code, 200)
            self._run_trapped(trap)
        return self._events(self.generic, topic)[:1]

    def _sell_generic(self):
        """2 x SIM-000001 at 10.00 and 1 x SIM-000002 at 20.00, 20 % VAT on
        top, 5.00 shipping: 54.00 paid through stripe."""
        payload = self._generic_order()
        self.assertEqual(self._deliver("orders/upsert", payload).state, "done")
        return self._sale_order(self.generic, {"id": "G-2001"})

    def _generic_order(self):
        tax = [{"rate": "0.2", "amount": "4.00"}]
        currency = self.env.company.currency_id.name
        return {
            "id": "G-2001",
            "currency": currency,
            "status": "paid",
            "total": "54.00",
            "total_tax": "9.00",
            "customer": {"email": "buyer@example.com", "first_name": "Ada"},
            "lines": [
                {
                    "id": "L1",
                    "sku": "SIM-000001",
                    "quantity": "2",
                    "unit_price": "10.00",
                    "taxes": tax,
                },
                {
                    "id": "L2",
                    "sku": "SIM-000002",
                    "quantity": "1",
                    "unit_price": "20.00",
                    "taxes": tax,
                },
            ],
            "shipping": [
                {"price": "5.00", "taxes": [{"rate": "0.2", "amount": "1.00"}]}
            ],
            "payments": [
                {
                    "id": "P-1",
                    "gateway": "stripe",
                    "amount": "54.00",
                    "transaction_id": "ch_1",
                }
            ],
        }


@tagged("post_install", "-at_install")
class TestGenericRefunds(GenericRefundCommon):
    """The generic format's `orders/refund` over the real endpoint."""

    def test_generic_refund_is_credited_to_the_cent_and_returns_restocked_lines(self):
        sale_order = self._sell_generic()
        self.assertEqual(sale_order.state, "sale")
        picking = sale_order.picking_ids
        validate_in_full(picking)
        refund = {
            "id": "R-1",
            "order_id": "G-2001",
            "amount": "14.00",
            "lines": [
                {
                    "line_id": "L1",
                    "quantity": "1",
                    "subtotal": "10.00",
                    "tax": "2.00",
                    "restock": True,
                },
                {
                    "line_id": "L2",
                    "quantity": "0",
                    "subtotal": "0.00",
                    "restock": False,
                },
            ],
            "adjustments": [{"reason": "Goodwill", "amount": "2.00"}],
            "transactions": [
                {
                    "id": "RT-1",
                    "gateway": "stripe",
                    "amount": "14.00",
                    "transaction_id": "re_1",
                }
            ],
        }
        event = self._deliver("orders/refund", refund)
        self.assertEqual(event.state, "done", event.error)
        binding = self.Refund.search(
            [("backend_id", "=", self.generic.id), ("external_ref", "=", "R-1")]
        )
        self.assertEqual(binding.state, "done", binding.missing)
        self.assertEqual(event.res_id, binding.id)
        credit_note = binding.credit_note_id
        self.assertEqual(credit_note.state, "posted")
        self.assertAlmostEqual(credit_note.amount_total, 14.00)
        self.assertAlmostEqual(credit_note.amount_tax, 2.00)
        self.assertEqual(binding.payment_ids.memo, "re_1")
        self.assertAlmostEqual(binding.payment_ids.amount, 14.00)
        returned = binding.return_picking_ids
        self.assertEqual(returned.return_id, picking)
        self.assertEqual(
            [(m.product_id.default_code, m.product_uom_qty) for m in returned.move_ids],
            [("SIM-000001", 1.0)],
        )
        # The same refund pushed again under a new event id: one credit note.
        self.assertEqual(self._deliver("orders/refund", refund).state, "duplicate")
        self.assertEqual(
            sale_order.invoice_ids.filtered(lambda m: m.move_type == "out_refund"),
            credit_note,
        )

    def test_a_generic_refund_line_may_name_its_sku(self):
        sale_order = self._sell_generic()
        refund = {
            "id": "R-3",
            "order_id": "G-2001",
            "amount": "24.00",
            "lines": [
                {
                    "sku": "SIM-000002",
                    "quantity": "1",
                    "subtotal": "20.00",
                    "tax": "4.00",
                }
            ],
            "transactions": [
                {"gateway": "stripe", "amount": "24.00", "transaction_id": "re_3"}
            ],
        }
        self.assertEqual(self._deliver("orders/refund", refund).state, "done")
        binding = self.Refund.search(
            [("backend_id", "=", self.generic.id), ("external_ref", "=", "R-3")]
        )
        self.assertEqual(binding.state, "done", binding.missing)
        line = binding.credit_note_id.invoice_line_ids.filtered("sale_line_ids")
        self.assertEqual(
            line.sale_line_ids,
            sale_order.order_line.filtered(
                lambda sol: sol.product_id.default_code == "SIM-000002"
            ),
        )
        self.assertAlmostEqual(binding.credit_note_id.amount_total, 24.00)

    def test_a_generic_refund_before_its_order_waits_then_applies_itself(self):
        """The refund job itself applies the refund once its order is in (a
        generic order lists no refunds to apply at import)."""
        refund = {
            "id": "R-7",
            "order_id": "G-2001",
            "amount": "24.00",
            "lines": [
                {"line_id": "L2", "quantity": "1", "subtotal": "20.00", "tax": "4.00"}
            ],
            "transactions": [
                {"gateway": "stripe", "amount": "24.00", "transaction_id": "re_7"}
            ],
        }
        body = json.dumps(refund).encode()
        headers, body = generic_delivery(
            body, "generic_webhook_secret", **{"X-Channel-Topic": "orders/refund"}
        )
        with trap_jobs() as trap:
            self.assertEqual(self._post(self.generic, headers, body).status_code, 200)
            trap.assert_jobs_count(1)
            event = self._events(self.generic, "orders/refund")
            with self.assertRaises(RetryableJobError):
                event.with_env(self.env)._job_process()
        self.assertEqual(event.state, "queued", "waits, not dropped")
        self.assertFalse(
            self.Refund.search([("backend_id", "=", self.generic.id)]), "not yet"
        )
        sale_order = self._sell_generic()
        # queue_job runs the job again (its retry): this time it applies.
        self.assertEqual(event._job_process(), "done")
        self.assertEqual(event.state, "done")
        binding = self.Refund.search(
            [("backend_id", "=", self.generic.id), ("external_ref", "=", "R-7")]
        )
        self.assertEqual(binding.state, "done", binding.missing)
        self.assertEqual(binding.sale_order_id, sale_order)
        self.assertAlmostEqual(binding.credit_note_id.amount_total, 24.00)
        self.assertEqual(binding.payment_ids.memo, "re_7")

    def test_a_generic_refund_of_nothing_is_refused_with_its_reason(self):
        self._sell_generic()
        event = self._deliver(
            "orders/refund", {"id": "R-2", "order_id": "G-2001", "amount": "1.00"}
        )
        self.assertEqual(event.state, "failed")
        self.assertIn("refunds nothing", event.error)
        self.assertFalse(self.Refund.search([("backend_id", "=", self.generic.id)]))


@tagged("post_install", "-at_install")
class TestGenericCancellation(GenericRefundCommon):
    """A generic order refunded in part, then cancelled with `orders/cancel`:
    the rest is credited and paid back from Odoo's side; the channel's
    refund of that rest, pushed later, is bound and names the payment."""

    def _refund_payload(self, ref, amount, transaction_ref, lines=(), adjustments=()):
        return {
            "id": ref,
            "order_id": "G-2001",
            "amount": amount,
            "lines": list(lines),
            "adjustments": list(adjustments),
            "transactions": [
                {
                    "id": f"T-{ref}",
                    "gateway": "stripe",
                    "amount": amount,
                    "transaction_id": transaction_ref,
                }
            ],
        }

    def _generic_binding(self, ref):
        return self.Refund.search(
            [("backend_id", "=", self.generic.id), ("external_ref", "=", ref)]
        )

    def test_a_cancelled_generic_order_credits_what_its_refunds_left(self):
        sale_order = self._sell_generic()
        delivery = sale_order.picking_ids
        first = self._refund_payload(
            "R-5",
            "13.00",
            "re_5",
            lines=[
                {
                    "line_id": "L1",
                    "quantity": "1",
                    "subtotal": "10.00",
                    "tax": "2.00",
                    "restock": True,
                }
            ],
            adjustments=[{"reason": "Goodwill", "amount": "1.00"}],
        )
        self.assertEqual(self._deliver("orders/refund", first).state, "done")
        cancelled = {
            **self._generic_order(),
            "status": "cancelled",
            "cancelled_at": "2026-01-02T10:00:00Z",
        }
        event = self._deliver("orders/cancel", cancelled)
        self.assertEqual(event.state, "done", event.error)
        binding = self._generic_binding("cancel:G-2001")
        self.assertEqual(binding.state, "done", binding.missing)
        credit_note = binding.credit_note_id
        # 54.00 invoiced, 13.00 refunded (10.00 + 2.00 VAT + 1.00 goodwill).
        self.assertAlmostEqual(credit_note.amount_total, 41.00)
        self.assertAlmostEqual(credit_note.amount_tax, 7.00)
        balance = credit_note.invoice_line_ids.filtered(
            lambda line: line.product_id == self.generic.discount_product_id
        )
        self.assertAlmostEqual(balance.price_total, -1.00, msg="the goodwill given")
        self.assertAlmostEqual(binding.payment_ids.amount, 41.00)
        self.assertEqual(delivery.state, "cancel")
        self.assertEqual(sale_order.state, "cancel")
        invoice = sale_order.invoice_ids.filtered(
            lambda m: m.move_type == "out_invoice"
        )
        self.assertAlmostEqual(
            sum(invoice.reversal_move_ids.mapped("amount_total")), invoice.amount_total
        )
        # The same cancellation again: nothing more.
        self.assertIn(
            self._deliver("orders/cancel", cancelled).state, ("done", "duplicate")
        )
        self.assertEqual(len(invoice.reversal_move_ids), 2)
        # The channel's refund of the rest arrives: bound, not booked.
        rest = self._refund_payload("R-6", "41.00", "re_6")
        rest["adjustments"] = [{"reason": "Order cancelled", "amount": "41.00"}]
        self.assertEqual(self._deliver("orders/refund", rest).state, "done")
        late = self._generic_binding("R-6")
        self.assertEqual(late.state, "done")
        self.assertFalse(late.credit_note_id)
        self.assertEqual(len(invoice.reversal_move_ids), 2)
        self.assertEqual(binding.payment_ids.memo, "re_6")
        self.assertEqual(binding.payment_ids.channel_processor_ref, "re_6")
