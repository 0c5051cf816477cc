"""Amazon refunds over real HTTP against the simulator: the Refund rows of a
settlement report become channel refunds (credit note at Amazon's figures,
refund payment known by the adjustment id) booked before the settlement's
lines match, so the settlement reconciles with no hand work."""

from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from .test_amazon_settlement import AmazonSettlementCase

ADJUSTMENT = "AMZADJ1"


@tagged("post_install", "-at_install")
class TestAmazonRefunds(AmazonSettlementCase):
    def _mfn_order(self):
        """An MFN order of two units at 15.00 (facilitator tax 2.40) with
        5.00 shipping (tax 0.40), polled, invoiced and paid 35.00."""
        order_id = self.sim.amazon.add_order(
            [self._line("AMZ-1", 2, "15.00", "2.40")],
            shipping="5.00",
            shipping_tax="0.40",
        )
        return order_id

    @staticmethod
    def _one_unit_and_shipping(order_id):
        return {
            "order_id": order_id,
            "adjustment_id": ADJUSTMENT,
            "sku": "AMZ-1",
            "quantity": 1,
            "principal": "15.00",
            "tax": "1.20",
            "shipping": "5.00",
            "shipping_tax": "0.40",
            "facilitated": True,
        }

    def _binding(self, ref=ADJUSTMENT):
        return self.env["channel.refund.binding"].search(
            [("backend_id", "=", self.amazon.id), ("external_ref", "=", ref)]
        )

    def _refund_event(self):
        return self.env["channel.event"].search(
            [("backend_id", "=", self.amazon.id), ("resource_ref", "=", ADJUSTMENT)]
        )

    def test_a_partial_refund_is_booked_and_its_settlement_reconciles(self):
        order_id = self._mfn_order()
        self._poll()
        sale_order = self._sale_order(order_id)
        self.assertAlmostEqual(sale_order.invoice_ids.amount_total, 35.0)
        settlement_id, _report = self.sim.amazon.reports.settle(
            [order_id], refunds=[self._one_unit_and_shipping(order_id)]
        )
        transfer = self._transfer(settlement_id)
        bank_line = self._statement_line(transfer)
        self._import()

        binding = self._binding()
        self.assertEqual(binding.state, "done", binding.missing)
        self.assertEqual(binding.sale_order_id, sale_order)
        credit_note = binding.credit_note_id
        self.assertEqual(credit_note.state, "posted")
        # One unit and the shipping; the facilitator tax was Amazon's.
        self.assertAlmostEqual(credit_note.amount_total, 20.0)
        self.assertAlmostEqual(credit_note.amount_tax, 0.0)
        goods = credit_note.invoice_line_ids.filtered(
            lambda line: line.product_id.default_code == "AMZ-1"
        )
        self.assertEqual(goods.quantity, 1.0)
        self.assertAlmostEqual(goods.price_subtotal, 15.0)
        payment = binding.payment_ids
        self.assertEqual(len(payment), 1)
        self.assertAlmostEqual(payment.amount, 20.0)
        self.assertEqual(payment.payment_type, "outbound")
        self.assertEqual(payment.channel_transaction_ref, ADJUSTMENT)
        self.assertEqual(payment.memo, ADJUSTMENT)
        # Amazon states no return: the default policy restocks nothing.
        self.assertFalse(binding.return_picking_ids)

        payout = self._payout(settlement_id)
        refund_line = payout.line_ids.filtered(lambda line: line.kind == "refund")
        self.assertAlmostEqual(refund_line.amount, -20.0)
        self.assertEqual(refund_line.payment_id, payment)
        self.assertEqual(
            payout.match_state, "matched", payout.line_ids.mapped("match_note")
        )
        self.assertEqual(payout.statement_line_id, bank_line)
        self.assertTrue(bank_line.is_reconciled)
        self.assertFalse(self._mismatches())
        self.assertFalse(
            self.env["account.move.line"].search_count(
                [("account_id", "=", self.clearing.id), ("reconciled", "=", False)]
            ),
            "the order's payment and its refund are settled by the settlement",
        )

    def test_a_refund_imported_again_is_booked_once(self):
        order_id = self._mfn_order()
        self._poll()
        settlement_id, _report = self.sim.amazon.reports.settle(
            [order_id], refunds=[self._one_unit_and_shipping(order_id)]
        )
        self._import()
        credit_note = self._binding().credit_note_id
        # The settlement read again, and its stored refund replayed.
        self._import()
        event = self._refund_event()
        self.assertEqual(len(event), 1)
        self.assertEqual(event.state, "done")
        with trap_jobs() as trap:
            event.action_force_replay()
            trap.perform_enqueued_jobs()
        self.env.invalidate_all()
        binding = self._binding()
        self.assertEqual(len(binding), 1)
        self.assertEqual(binding.credit_note_id, credit_note)
        self.assertEqual(
            self.env["account.move"].search_count(
                [("move_type", "=", "out_refund"), ("reversed_entry_id", "!=", False)]
            ),
            1,
        )
        self.assertEqual(len(binding.payment_ids), 1)
        self.assertEqual(self._payout(settlement_id).match_state, "matched")

    def test_a_refund_before_its_order_waits_then_is_booked(self):
        order_id = self._mfn_order()  # sold, not polled yet
        refund = self._one_unit_and_shipping(order_id)
        settlement_id, _report = self.sim.amazon.reports.settle([], refunds=[refund])
        with trap_jobs() as trap:
            self._import()
            event = self._refund_event()
            trap.assert_jobs_count(1, only=event._job_process)
        self.assertFalse(self._binding(), "no order: nothing to credit yet")
        self.assertEqual(event.state, "queued")
        payout = self._payout(settlement_id)
        refund_line = payout.line_ids.filtered(lambda line: line.kind == "refund")
        self.assertEqual(refund_line.match_state, "unmatched")

        self._poll()
        event._job_process()  # the waiting job, retried
        self.env.invalidate_all()
        binding = self._binding()
        self.assertEqual(binding.state, "done", binding.missing)
        self.assertAlmostEqual(binding.credit_note_id.amount_total, 20.0)
        self.assertEqual(event.state, "done")
        payout.action_retry_matching()
        self.assertEqual(refund_line.payment_id, binding.payment_ids)
        self.assertEqual(refund_line.match_state, "matched")
