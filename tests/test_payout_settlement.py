"""Payout settlement over HTTP against the simulator: disputes settled
through the clearing account, adjustments and reserves, the tax on Stripe's
fees, a payout in another currency than the company's, and the choice of
the bank statement line of the transfer."""

from decimal import Decimal

from odoo import fields
from odoo.tests import tagged

from .test_payouts import GATEWAY, PayoutCommon


class ShopifyPayoutCase(PayoutCommon):
    def setUp(self):
        super().setUp()
        self._channel_acts(self.shopify._sync_webhook_subscriptions)

    def _open_dispute(self, order):
        return self._channel_acts(
            lambda: self.sim.scenario.open_dispute("shopify", order["id"])
        )

    def _settle(self, dispute, status):
        self._channel_acts(
            lambda: self.sim.scenario.update_dispute(dispute["id"], status)
        )

    def _dispute_lines(self, dispute):
        return self.env["channel.payout.line"].search(
            [("dispute_ref", "=", str(dispute["id"]))], order="id"
        )


@tagged("post_install", "-at_install")
class TestPayoutDisputes(ShopifyPayoutCase):
    def test_dispute_lost_after_the_payout_settles_its_pending_line(self):
        orders = self._sell(2)
        dispute = self._open_dispute(orders[0])
        sim_payout = self.sim.scenario.create_payout(status="paid")
        self._import()
        payout = self._payout(sim_payout)
        line = self._dispute_lines(dispute)
        self.assertEqual(line.match_state, "pending")
        self.assertEqual(line.move_line_id.account_id, self.clearing)
        self.assertFalse(line.is_reconciled)
        # Pending is not a mismatch: the payout's charges are all matched.
        self.assertEqual(payout.match_state, "matched")
        self.assertFalse(self._mismatches())
        self.assertFalse(
            payout.move_id.line_ids.filtered(
                lambda aml: aml.account_id == self.chargebacks
            )
        )
        self._settle(dispute, "lost")
        self.env.invalidate_all()
        self.assertEqual(line.match_state, "matched")
        self.assertEqual(line.payment_id.memo, str(dispute["id"]))
        self.assertTrue(line.is_reconciled)
        self.assertTrue(line.is_auto_matched)
        # The withdrawal and the refund payment cancel out: nothing open,
        # the loss counted once, by the credit note.
        self.assertFalse(self._open_clearing_lines())

    def test_dispute_won_offsets_its_withdrawal(self):
        orders = self._sell(2)
        dispute = self._open_dispute(orders[1])
        first = self.sim.scenario.create_payout(status="paid")
        self._import()
        self._settle(dispute, "won")
        second = self.sim.scenario.create_payout(status="paid")
        self._import()
        withdrawal, reversal = self._dispute_lines(dispute)
        self.assertEqual(withdrawal.payout_id, self._payout(first))
        self.assertEqual(reversal.payout_id, self._payout(second))
        self.assertEqual((withdrawal | reversal).mapped("match_state"), ["matched"] * 2)
        self.assertEqual(withdrawal.dispute_offset_id, reversal)
        self.assertFalse(withdrawal.payment_id)
        self.assertTrue(withdrawal.is_reconciled and reversal.is_reconciled)
        self.assertEqual(
            withdrawal.move_line_id.full_reconcile_id,
            reversal.move_line_id.full_reconcile_id,
        )
        self.assertFalse(self._open_clearing_lines())
        self.assertFalse(self._mismatches())

    def test_manual_policy_expenses_the_dispute(self):
        self.shopify.dispute_lost_policy = "manual"
        orders = self._sell(1)
        dispute = self._open_dispute(orders[0])
        sim_payout = self.sim.scenario.create_payout(status="paid")
        self._import()
        line = self._dispute_lines(dispute)
        self.assertEqual(line.match_state, "none")
        self.assertEqual(line.move_line_id, self.env["account.move.line"])
        chargeback = self._payout(sim_payout).move_id.line_ids.filtered(
            lambda aml: aml.account_id == self.chargebacks
        )
        self.assertAlmostEqual(chargeback.balance, -line.amount)


@tagged("post_install", "-at_install")
class TestPayoutOtherLines(ShopifyPayoutCase):
    def test_adjustments_and_reserves_go_to_their_accounts(self):
        self._sell(1)
        self.sim.scenario.add_balance_transaction("adjustment", "-4.25")
        self.sim.scenario.add_balance_transaction("reserved_funds", "-20.00")
        self.sim.scenario.add_balance_transaction("reserved_funds_reversal", "7.50")
        sim_payout = self.sim.scenario.create_payout(status="paid")
        self._import()
        payout = self._payout(sim_payout)
        move = payout.move_id
        self.assertEqual(move.state, "posted")

        def booked(account):
            lines = move.line_ids.filtered(lambda aml: aml.account_id == account)
            return sum(lines.mapped("balance"))

        self.assertAlmostEqual(booked(self.adjustments), 4.25)
        self.assertAlmostEqual(booked(self.reserve), 12.50)
        self.assertAlmostEqual(booked(self.transit), float(sim_payout["net"]))
        self.assertEqual(
            sorted(payout.line_ids.mapped("kind")),
            ["adjustment", "charge", "reserve", "reserve"],
        )

    def test_buyer_paying_in_another_currency_is_matched_and_cleared(self):
        self.env.ref("base.GBP").active = True
        self._sell(1)
        self._order("shopify", gateway=GATEWAY, notify=False, currency="GBP")
        with self.allow_requests(all_requests=True):
            self._reconcile(self.shopify)
        sim_payout = self.sim.scenario.create_payout(status="paid")
        self._import()
        payout = self._payout(sim_payout)
        self.assertEqual(payout.currency_id, self.env.company.currency_id)
        self.assertEqual(payout.matched_count, 2, payout.line_ids.mapped("match_note"))
        self.assertEqual(payout.move_id.state, "posted")
        self.assertFalse(self._mismatches())
        self.assertFalse(self._open_clearing_lines())
        net = payout.move_id.line_ids.filtered(
            lambda aml: aml.account_id == self.transit
        )
        self.assertAlmostEqual(net.balance, float(sim_payout["net"]))

    def test_payout_in_another_currency_is_booked_with_the_exchange_difference(self):
        eur = self.env.ref("base.EUR")
        eur.active = True
        company = self.env.company
        self.assertNotEqual(company.currency_id, eur)
        self.sim.state.currency = "EUR"
        orders = [
            self._order("shopify", gateway="shopify_payments", notify=False)
            for _index in range(2)
        ]
        with self.allow_requests(all_requests=True):
            self._reconcile(self.shopify)
        payments = self.env["account.payment"].search(
            [("channel_transaction_ref", "!=", False)]
        )
        self.assertEqual(len(payments), len(orders))
        self.assertEqual(payments.currency_id, eur)
        self.euro_bank = self.env["account.journal"].create(
            {"name": "EUR Bank", "code": "EBNK", "type": "bank", "currency_id": eur.id}
        )
        self.euro_bank.inbound_payment_method_line_ids.payment_account_id = self.transit
        self.shopify.payout_bank_journal_id = self.euro_bank
        sim_payout = self.sim.scenario.create_payout(status="paid")
        # EUR is worth more on the payout's day than when the orders were
        # paid: the payout brings more dollars than the payments booked.
        day = fields.Date.to_date(payments[0].date)
        booked_rate = eur._get_rates(company, day)[eur.id]
        self.env["res.currency.rate"].search(
            [("currency_id", "=", eur.id), ("name", "=", day)]
        ).unlink()
        self.env["res.currency.rate"].create(
            {"currency_id": eur.id, "name": day, "rate": booked_rate * 0.8}
        )
        self._import()
        payout = self._payout(sim_payout)
        self.assertEqual(payout.currency_id, eur)
        self.assertEqual(payout.match_state, "matched")
        move = payout.move_id
        self.assertEqual(move.state, "posted", self._mismatches().mapped("name"))
        net = move.line_ids.filtered(lambda aml: aml.account_id == self.transit)
        self.assertEqual(net.currency_id, eur)
        self.assertAlmostEqual(net.amount_currency, float(sim_payout["net"]))
        self.assertAlmostEqual(
            net.balance,
            eur._convert(float(sim_payout["net"]), company.currency_id, company, day),
            delta=0.02,
        )
        # The payments are cleared at what they booked; the gain on the
        # exchange is the company's exchange difference.
        self.assertFalse(self._open_clearing_lines())
        gain = move.line_ids.filtered(
            lambda aml: aml.account_id == company.income_currency_exchange_account_id
        )
        self.assertEqual(len(gain), len(orders))
        self.assertLess(sum(gain.mapped("balance")), 0)
        self.assertTrue(move.currency_id.is_zero(sum(move.line_ids.mapped("balance"))))
        # The transfer lands on the EUR bank account: its line meets the net.
        bank_line = self.env["account.bank.statement.line"].create(
            {
                "journal_id": self.euro_bank.id,
                "amount": float(sim_payout["net"]),
                "payment_ref": f"SHOPIFY {sim_payout['id']}",
                "date": day,
            }
        )
        payout.with_user(self.finance_user).action_reconcile_bank_line()
        self.assertEqual(payout.statement_line_id, bank_line)
        self.assertTrue(bank_line.is_reconciled)
        self.assertTrue(net.reconciled)


@tagged("post_install", "-at_install")
class TestPayoutBankLine(ShopifyPayoutCase):
    def _bank_line(self, amount, label, date="2026-12-06"):
        return self.env["account.bank.statement.line"].create(
            {
                "journal_id": self.bank.id,
                "amount": amount,
                "payment_ref": label,
                "date": date,
            }
        )

    def _payout_of_two(self):
        self._sell(2)
        return self.sim.scenario.create_payout(status="paid")

    def test_the_line_naming_the_payout_wins_over_another_of_that_amount(self):
        sim_payout = self._payout_of_two()
        amount = float(sim_payout["net"])
        other = self._bank_line(amount, "TRANSFER FROM A CUSTOMER")
        named = self._bank_line(amount, f"SHOPIFY PAYOUT {sim_payout['id']}")
        self._import()
        payout = self._payout(sim_payout)
        self.assertEqual(payout.statement_line_id, named)
        self.assertTrue(named.is_reconciled)
        self.assertFalse(other.is_reconciled)

    def test_two_anonymous_lines_of_that_amount_are_an_exception(self):
        sim_payout = self._payout_of_two()
        amount = float(sim_payout["net"])
        lines = self._bank_line(amount, "TRANSFER") | self._bank_line(
            amount, "TRANSFER"
        )
        self._import()
        payout = self._payout(sim_payout)
        self.assertFalse(payout.statement_line_id)
        self.assertFalse(any(lines.mapped("is_reconciled")))
        exception = self._mismatches().filtered(
            lambda exc: "none names the payout" in exc.name
        )
        self.assertEqual(len(exception), 1)
        # Finance names the right line: the payout takes it.
        lines[1].payment_ref = f"PAYOUT {sim_payout['id']}"
        payout.with_user(self.finance_user).action_reconcile_bank_line()
        self.assertEqual(payout.statement_line_id, lines[1])
        self.assertTrue(lines[1].is_reconciled)
        self.assertEqual(exception.state, "resolved")

    def test_a_line_outside_the_payout_window_is_not_taken(self):
        sim_payout = self._payout_of_two()
        old = self._bank_line(float(sim_payout["net"]), "TRANSFER", "2026-01-02")
        self._import()
        self.assertFalse(self._payout(sim_payout).statement_line_id)
        self.assertFalse(old.is_reconciled)


@tagged("post_install", "-at_install")
class TestStripeSettlement(PayoutCommon):
    def setUp(self):
        super().setUp()
        self._channel_acts(self.woo._sync_webhook_subscriptions)

    def test_vat_on_stripe_fees_is_a_recoverable_tax_line(self):
        vat_account = self.env["account.account"].create(
            {
                "name": "VAT recoverable",
                "code": "CC4456",
                "account_type": "asset_current",
            }
        )
        tax = self.env["account.tax"].create(
            {"name": "VAT 20% on fees", "amount": 20, "type_tax_use": "purchase"}
        )
        (tax.invoice_repartition_line_ids | tax.refund_repartition_line_ids).filtered(
            lambda r: r.repartition_type == "tax"
        ).account_id = vat_account
        self.stripe.fee_tax_id = tax
        for _index in range(3):
            self._order("woocommerce", gateway="stripe", notify=False)
        with self.allow_requests(all_requests=True):
            self._reconcile(self.woo)
        sim_payout = self.sim.scenario.create_stripe_payout(
            status="paid", fee_tax_rate="0.20"
        )
        self._import_stripe()
        payout = self._payout(sim_payout)
        entries = [
            e
            for e in self.sim.state.stripe_balance
            if e["payout_id"] == sim_payout["id"]
        ]
        fee = sum((e["fee"] for e in entries), Decimal(0))
        fee_tax = sum((e["fee_tax"] for e in entries), Decimal(0))
        self.assertGreater(fee_tax, 0)
        self.assertAlmostEqual(sum(payout.line_ids.mapped("fee_tax")), float(fee_tax))
        move = payout.move_id
        self.assertEqual(move.state, "posted")
        tax_lines = move.line_ids.filtered("tax_repartition_line_id")
        # Exactly what Stripe charged, not recomputed from the base.
        self.assertAlmostEqual(sum(tax_lines.mapped("balance")), float(fee_tax))
        self.assertEqual(tax_lines.account_id, vat_account)
        self.assertEqual(tax_lines.tax_line_id, tax)
        base = move.line_ids.filtered(lambda aml: aml.account_id == self.fees)
        self.assertEqual(base.tax_ids, tax)
        self.assertAlmostEqual(sum(base.mapped("balance")), float(fee - fee_tax))
        transit = move.line_ids.filtered(lambda aml: aml.account_id == self.transit)
        self.assertAlmostEqual(transit.balance, float(sim_payout["net"]))

    def test_charge_in_the_buyers_currency_matches_on_the_presentment_amount(self):
        gbp = self.env.ref("base.GBP")
        gbp.active = True
        self._order("woocommerce", gateway="stripe", notify=False, currency="GBP")
        self._order("woocommerce", gateway="stripe", notify=False)
        with self.allow_requests(all_requests=True):
            self._reconcile(self.woo)
        company_currency = self.env.company.currency_id.name
        sim_payout = self.sim.scenario.create_stripe_payout(
            status="paid", settlement_currency=company_currency
        )
        self._import_stripe()
        payout = self._payout(sim_payout)
        self.assertEqual(payout.currency_id.name, company_currency)
        line = payout.line_ids.filtered("presentment_currency_id")
        self.assertEqual(line.presentment_currency_id, gbp)
        self.assertEqual(line.payment_id.currency_id, gbp)
        self.assertAlmostEqual(line.presentment_amount, line.payment_id.amount)
        self.assertNotAlmostEqual(line.amount, line.payment_id.amount)
        self.assertEqual(payout.matched_count, 2, payout.line_ids.mapped("match_note"))
        self.assertFalse(self._mismatches(self.woo))
        self.assertEqual(payout.move_id.state, "posted")
        self.assertFalse(self._open_clearing_lines())
        transit = payout.move_id.line_ids.filtered(
            lambda aml: aml.account_id == self.transit
        )
        self.assertAlmostEqual(transit.balance, float(sim_payout["net"]))

    def test_charge_in_another_currency_of_a_different_amount_is_a_mismatch(self):
        self.env.ref("base.GBP").active = True
        order = self._order(
            "woocommerce", gateway="stripe", notify=False, currency="GBP"
        )
        with self.allow_requests(all_requests=True):
            self._reconcile(self.woo)
        sim_payout = self.sim.scenario.create_stripe_payout(
            status="paid", settlement_currency=self.env.company.currency_id.name
        )
        charge = self.sim.state.woo_orders[str(order["id"])]["transactions"][0]
        entry = next(
            e
            for e in self.sim.state.stripe_balance
            if e["source_id"] == charge["authorization"]
        )
        entry["source_amount"] -= Decimal("1.00")
        self._import_stripe()
        payout = self._payout(sim_payout)
        self.assertEqual(payout.line_ids.match_state, "mismatch")
        self.assertIn("GBP", payout.line_ids.match_note)
        self.assertIn("difference -1.00 GBP", self._mismatches(self.woo).name)
