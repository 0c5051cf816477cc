"""Payment disputes over HTTP: the simulator opens a Shopify Payments dispute
(`disputes/create`) and settles it (`disputes/update`), the real endpoint
stores them and the event jobs follow the dispute read through GraphQL."""

from datetime import datetime

from odoo.tests import tagged

from .test_refunds import GenericRefundCommon, RefundCommon


@tagged("post_install", "-at_install")
class TestShopifyDisputes(RefundCommon):
    def _dispute_exception(self, dispute):
        return self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.shopify.id),
                ("exception_type", "=", "payment_dispute"),
                ("fingerprint", "=", f"payment_dispute:key:dispute:{dispute['id']}"),
            ]
        )

    def _open(self, order, **options):
        return self._channel_acts(
            lambda: self.sim.scenario.open_dispute(
                "shopify", order["id"], amount="30.00", **options
            )
        )

    def _settle(self, dispute, status):
        return self._channel_acts(
            lambda: self.sim.scenario.update_dispute(dispute["id"], status)
        )

    def _chargebacks(self, order):
        return self.Refund.search(
            [("order_binding_id.external_ref", "=", str(order["id"]))]
        ).filtered("is_dispute")

    def test_an_open_dispute_is_a_finance_exception_due_by_its_evidence_date(self):
        order = self._sell()
        sale_order = self._sale_order(self.shopify, order)
        dispute = self._open(order, reason="product_not_received")
        exception = self._dispute_exception(dispute)
        self.assertEqual(exception.state, "open")
        self.assertEqual(exception.sale_order_id, sale_order)
        invoice = sale_order.invoice_ids
        for text in ("30.00", "product not received", invoice.name, "needs response"):
            self.assertIn(text, exception.name)
        due = datetime.strptime(dispute["evidence_due_by"], "%Y-%m-%dT%H:%M:%SZ")
        self.assertEqual(exception.sla_deadline, due)
        self.assertEqual(
            exception.owner_group_id,
            self.env.ref("channel_connector.group_channel_finance"),
        )
        # Evidence sent: the same exception says so, nothing is booked.
        self._settle(dispute, "under_review")
        self.assertEqual(self._dispute_exception(dispute), exception)
        self.assertIn("under review", exception.name)
        self.assertFalse(self._chargebacks(order))

    def test_a_dispute_opened_then_won_closes_its_exception(self):
        order = self._sell()
        dispute = self._open(order)
        exception = self._dispute_exception(dispute)
        self.assertEqual(exception.state, "open")
        self._settle(dispute, "won")
        self.assertEqual(exception.state, "resolved")
        self.assertFalse(self._chargebacks(order))
        sale_order = self._sale_order(self.shopify, order)
        self.assertFalse(
            sale_order.invoice_ids.filtered(lambda m: m.move_type == "out_refund")
        )

    def test_a_dispute_opened_then_lost_books_a_credit_note_without_return(self):
        order = self._sell()
        self._ship(order)
        dispute = self._open(order)
        exception = self._dispute_exception(dispute)
        self._settle(dispute, "lost")
        chargeback = self._chargebacks(order)
        self.assertEqual(chargeback.state, "done", chargeback.missing)
        credit_note = chargeback.credit_note_id
        invoice = self._sale_order(self.shopify, order).invoice_ids.filtered(
            lambda m: m.move_type == "out_invoice"
        )
        self.assertEqual(credit_note.state, "posted")
        self.assertEqual(credit_note.reversed_entry_id, invoice)
        self.assertAlmostEqual(credit_note.amount_total, 30.00)
        self.assertEqual(
            credit_note.invoice_line_ids.product_id,
            self.shopify.refund_adjustment_product_id,
        )
        self.assertFalse(chargeback.return_picking_ids)
        payment = chargeback.payment_ids
        self.assertEqual(payment.payment_type, "outbound")
        self.assertEqual(payment.memo, str(dispute["id"]))
        self.assertAlmostEqual(payment.amount, 30.00)
        self.assertEqual(exception.state, "resolved")
        # The same update delivered again books nothing more.
        self._channel_acts(
            lambda: self.sim.sender.shopify_event(
                [("disputes/update", self.sim.state.disputes[str(dispute["id"])])]
            )
        )
        self.assertEqual(self._chargebacks(order), chargeback)
        self.assertEqual(len(invoice.reversal_move_ids), 1)

    def test_a_lost_dispute_is_left_to_finance_when_the_policy_says_so(self):
        self.shopify.dispute_lost_policy = "manual"
        order = self._sell()
        dispute = self._open(order)
        self._settle(dispute, "lost")
        exception = self._dispute_exception(dispute)
        self.assertEqual(exception.state, "open")
        self.assertIn("book the chargeback by hand", exception.name)
        self.assertFalse(self._chargebacks(order))


@tagged("post_install", "-at_install")
class TestGenericDisputes(GenericRefundCommon):
    """The generic format's `orders/dispute` over the real endpoint."""

    def test_a_generic_dispute_lost_is_booked_through_the_order_gateway(self):
        sale_order = self._sell_generic()
        dispute = {
            "id": "D-1",
            "order_id": "G-2001",
            "status": "needs_response",
            "amount": "54.00",
            "reason": "fraudulent",
            "evidence_due_by": "2026-05-20T23:00:00Z",
        }
        event = self._deliver("orders/dispute", dispute)
        self.assertEqual(event.state, "done", event.error)
        exception = self._exceptions(self.generic, "payment_dispute")
        self.assertEqual(exception.sale_order_id, sale_order)
        self.assertEqual(exception.sla_deadline, datetime(2026, 5, 20, 23, 0))
        self._deliver("orders/dispute", {**dispute, "status": "lost"})
        self.assertEqual(exception.state, "resolved")
        chargeback = self.Refund.search(
            [("backend_id", "=", self.generic.id), ("is_dispute", "=", True)]
        )
        self.assertEqual(chargeback.state, "done", chargeback.missing)
        self.assertAlmostEqual(chargeback.credit_note_id.amount_total, 54.00)
        self.assertEqual(chargeback.payment_ids.memo, "D-1")
        self.assertEqual(chargeback.payment_ids.journal_id, self.bank)

    def test_a_generic_dispute_with_an_unknown_status_is_refused(self):
        self._sell_generic()
        event = self._deliver(
            "orders/dispute",
            {"id": "D-2", "order_id": "G-2001", "status": "open", "amount": "1.00"},
        )
        self.assertEqual(event.state, "failed")
        self.assertIn("dispute.status", event.error)
