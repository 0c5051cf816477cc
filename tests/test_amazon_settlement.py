"""Amazon settlements over real HTTP against the simulator: settlement
reports (Reports API, flat file V2) imported as payouts, matched to the
imported orders' payments and reconciled to the bank transfer; buyer data
read with a restricted data token."""

from decimal import Decimal

from odoo import Command
from odoo.tests import tagged

from .test_amazon import AmazonCase

GATEWAY = "amazon"


class AmazonSettlementCase(AmazonCase):
    """Amazon orders invoiced and paid on an Amazon clearing journal, and
    the accounts that book its settlements."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.clearing = cls.env["account.account"].create(
            {
                "name": "Amazon clearing",
                "code": "CA1901",
                "account_type": "asset_current",
                "reconcile": True,
            }
        )
        cls.clearing_journal = cls.env["account.journal"].create(
            {"name": "Amazon", "code": "AMZP", "type": "bank"}
        )
        (
            cls.clearing_journal.inbound_payment_method_line_ids
            | cls.clearing_journal.outbound_payment_method_line_ids
        ).payment_account_id = cls.clearing
        cls.amazon.write(
            {
                "order_create_invoice": True,
                "order_register_payment": True,
                "import_payouts": True,
                "payout_clearing_account_id": cls.clearing.id,
                "payment_mapping_ids": [
                    Command.create(
                        {"gateway": GATEWAY, "journal_id": cls.clearing_journal.id}
                    )
                ],
            }
        )
        # What README's setup says: *Prepare accounts* fills the rest.
        cls.amazon.action_prepare_payout_accounts()
        cls.bank = cls.amazon.payout_bank_journal_id
        cls.fees = cls.amazon.payout_fee_account_id
        cls.adjustments = cls.amazon.payout_adjustment_account_id

    def _sell(self, *orders):
        """Amazon orders ([(lines, fulfilment)]) imported by the poll."""
        ids = [
            self.sim.amazon.add_order(lines, fulfillment=fulfillment)
            for lines, fulfillment in orders
        ]
        self._poll()
        return ids

    def _import(self):
        self.env.flush_all()
        count = self.amazon._job_import_payouts(since="2000-01-01")
        self.env.invalidate_all()
        return count

    def _statement_line(self, amount):
        return self.env["account.bank.statement.line"].create(
            {
                "journal_id": self.bank.id,
                "amount": float(amount),
                "payment_ref": "AMAZON SETTLEMENT",
                "date": self.env.cr.now().date(),
            }
        )

    def _transfer(self, settlement_id):
        """The settlement's total-amount, as the simulator filed it."""
        report = next(
            text
            for text in self.sim.amazon.reports.documents.values()
            if f"\n{settlement_id}\t" in text
        )
        summary = report.splitlines()[1].split("\t")
        return Decimal(summary[4])

    def _payout(self, settlement_id):
        return self.env["channel.payout"].search(
            [("backend_id", "=", self.amazon.id), ("external_ref", "=", settlement_id)]
        )

    def _mismatches(self):
        return self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.amazon.id),
                ("exception_type", "=", "payment_mismatch"),
            ]
        )


@tagged("post_install", "-at_install")
class TestAmazonSettlement(AmazonSettlementCase):
    def test_a_settlement_report_is_reconciled_to_one_bank_line(self):
        mfn, fba = self._sell(
            ([self._line("AMZ-1", 2, "15.00", "2.40")], "MFN"),
            ([self._line("AMZ-2", 1, "30.00", "2.40")], "AFN"),
        )
        payments = self.env["account.payment"].search(
            [("channel_transaction_ref", "in", [mfn, fba])]
        )
        self.assertEqual(sorted(payments.mapped("amount")), [30.0, 30.0])
        settlement_id, _report = self.sim.amazon.reports.settle([mfn, fba])
        transfer = self._transfer(settlement_id)
        # Sold 60.00, facilitator tax collected and withheld, referral fees
        # 15% (9.00) and the FBA fee (3.22).
        self.assertEqual(transfer, Decimal("47.78"))
        bank_line = self._statement_line(transfer)
        self.assertEqual(self._import(), 1)

        payout = self._payout(settlement_id)
        self.assertEqual(payout.processor, "amazon")
        self.assertAlmostEqual(payout.amount, 47.78)
        charges = payout.line_ids.filtered(lambda line: line.kind == "charge")
        self.assertEqual(sorted(charges.mapped("order_ref")), sorted([mfn, fba]))
        self.assertEqual(charges.payment_id, payments)
        self.assertEqual(payout.match_state, "matched", charges.mapped("match_note"))
        self.assertAlmostEqual(payout.fee_amount, 12.22)
        self.assertEqual(payout.move_id.state, "posted")
        fee_items = payout.move_id.line_ids.filtered(
            lambda aml: aml.account_id == self.fees
        )
        self.assertAlmostEqual(sum(fee_items.mapped("balance")), 12.22)
        self.assertEqual(payout.statement_line_id, bank_line)
        self.assertTrue(bank_line.is_reconciled)
        self.assertFalse(self._mismatches())
        self.assertFalse(
            self.env["account.move.line"].search_count(
                [("account_id", "=", self.clearing.id), ("reconciled", "=", False)]
            ),
            "every Amazon payment is settled by its settlement line",
        )

    def test_refunds_fba_fees_and_reimbursements_in_a_settlement(self):
        sold, refunded = self._sell(
            ([self._line("AMZ-1", 1, "40.00")], "AFN"),
            ([self._line("AMZ-2", 1, "20.00")], "AFN"),
        )
        settlement_id, _report = self.sim.amazon.reports.settle(
            [sold, refunded],
            refunds=[
                {"order_id": refunded, "principal": "20.00", "adjustment_id": "AMZREF1"}
            ],
            reimbursements=[{"amount": "12.50", "sku": "AMZ-1"}],
            other_fees=[("Subscription Fee", "-39.99")],
        )
        transfer = self._transfer(settlement_id)
        self._statement_line(transfer)
        self._import()

        payout = self._payout(settlement_id)
        refund = payout.line_ids.filtered(lambda line: line.kind == "refund")
        # The refund names no units: booked as an amount-only credit note and
        # paid back before the settlement's lines matched.
        binding = self.env["channel.refund.binding"].search(
            [("backend_id", "=", self.amazon.id), ("external_ref", "=", "AMZREF1")]
        )
        self.assertEqual(binding.state, "done", binding.missing)
        self.assertAlmostEqual(binding.credit_note_id.amount_total, 20.0)
        self.assertEqual(refund.payment_id, binding.payment_ids)
        self.assertAlmostEqual(refund.amount, -20.0)
        # Amazon gives back the referral fee (3.00) less 20% of it.
        self.assertAlmostEqual(refund.fee, -2.40)
        reimbursement = payout.line_ids.filtered(lambda line: line.kind == "adjustment")
        self.assertAlmostEqual(reimbursement.net, 12.50)
        subscription = payout.line_ids.filtered(lambda line: line.kind == "fee")
        self.assertAlmostEqual(subscription.fee, 39.99)
        # Referral 9.00 + FBA 2 x 3.22 - refunded 2.40 + subscription 39.99.
        self.assertAlmostEqual(payout.fee_amount, 53.03)
        self.assertEqual(
            payout.match_state, "matched", payout.line_ids.mapped("match_note")
        )
        self.assertTrue(payout.statement_line_id.is_reconciled)
        adjustments = payout.move_id.line_ids.filtered(
            lambda aml: aml.account_id == self.adjustments
        )
        self.assertAlmostEqual(sum(adjustments.mapped("balance")), -12.50)
        self.assertFalse(self._mismatches())

    def test_a_transfer_that_differs_is_a_payment_mismatch_by_the_amount(self):
        (order_id,) = self._sell(([self._line("AMZ-1", 1, "25.00")], "MFN"))
        settlement_id, _report = self.sim.amazon.reports.settle(
            [order_id], transfer_difference="-1.50"
        )
        self._import()
        payout = self._payout(settlement_id)
        self.assertFalse(
            payout.move_id, "a settlement that does not add up is not booked"
        )
        mismatch = self._mismatches()
        self.assertEqual(len(mismatch), 1)
        self.assertIn("difference -1.50 USD", mismatch.name)

    def test_an_unreadable_report_is_an_exception_the_others_are_imported(self):
        (order_id,) = self._sell(([self._line("AMZ-1", 1, "25.00")], "MFN"))
        reports = self.sim.amazon.reports
        _broken, broken_report = reports.settle([])
        readable, _report = reports.settle([order_id])
        document = reports.reports[broken_report]["reportDocumentId"]
        reports.documents[document] = "<html>Service unavailable</html>"
        self._import()
        self.assertTrue(self._payout(readable).move_id)
        problem = self.env["channel.exception"].search(
            [("backend_id", "=", self.amazon.id), ("exception_type", "=", "validation")]
        )
        self.assertEqual(len(problem), 1)
        self.assertIn(f"report {broken_report}", problem.name)
        self.assertIn("lacks the columns", problem.name)

    def test_a_settlement_is_imported_once(self):
        (order_id,) = self._sell(([self._line("AMZ-1", 1, "25.00")], "MFN"))
        settlement_id, _report = self.sim.amazon.reports.settle([order_id])
        self._import()
        self._import()
        payout = self._payout(settlement_id)
        self.assertEqual(len(payout), 1)
        self.assertEqual(len(payout.line_ids), 1)
        moves = self.env["account.move"].search([("ref", "=", payout.name)])
        self.assertEqual(moves, payout.move_id)
        # The bank line arrives after the first import: the next one
        # reconciles it, books nothing again.
        bank_line = self._statement_line(self._transfer(settlement_id))
        self._import()
        self.assertEqual(payout.statement_line_id, bank_line)
        self.assertEqual(
            self.env["account.move"].search([("ref", "=", payout.name)]), moves
        )


@tagged("post_install", "-at_install")
class TestAmazonRestrictedData(AmazonSettlementCase):
    def test_buyer_address_is_read_with_a_restricted_data_token_never_logged(self):
        self.amazon.amazon_restricted_data = True
        with self.assertLogs(level="DEBUG") as logs:
            first, second = self._sell(
                ([self._line("AMZ-1")], "MFN"), ([self._line("AMZ-2")], "MFN")
            )
        for order_id in (first, second):
            shipping = self._sale_order(order_id).partner_shipping_id
            self.assertEqual(shipping.street, "410 Terry Ave N")
            self.assertEqual(shipping.name, "Jordan Buyer")
        reports = self.sim.amazon.reports
        self.assertEqual(reports.rdt_requests, 1, "one token for every order")
        output = "\n".join(logs.output)
        for token in reports.rdts:
            self.assertNotIn(token, output)

    def test_without_restricted_data_the_address_has_no_street(self):
        (order_id,) = self._sell(([self._line("AMZ-1")], "MFN"))
        shipping = self._sale_order(order_id).partner_shipping_id
        self.assertFalse(shipping.street)
        self.assertEqual(self.sim.amazon.reports.rdt_requests, 0)
