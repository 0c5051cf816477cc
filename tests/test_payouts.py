"""Shopify Payments payouts over HTTP: orders imported from the simulator are
paid on a clearing journal, the simulator pays them out, and the payout job
matches each line to its payment, books one entry and reconciles the bank
statement line of the transfer."""

from decimal import Decimal

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from simulator.stripe_api import STRIPE_SECRET_KEY

from ..adapters.exceptions import ChannelAuthError
from .common import ChannelCommon, load_migration
from .test_simulator_webhooks import SimulatorWebhookCase

GATEWAY = "shopify_payments"
# "Payout lines matched automatically" over the Done-when scenarios of #18:
# {scenario: (lines matched by the import itself, lines to match)}.
MATCH_FIGURES = {}


class PayoutCommon(SimulatorWebhookCase):
    catalogue_size = 2

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        Account = cls.env["account.account"]

        def account(name, code, account_type, reconcile=False):
            return Account.create(
                {
                    "name": name,
                    "code": code,
                    "account_type": account_type,
                    "reconcile": reconcile,
                }
            )

        cls.clearing = account(
            "Shopify Payments clearing", "CC1901", "asset_current", True
        )
        cls.transit = account("Payouts in transit", "CC1902", "asset_current", True)
        cls.fees = account("Processor fees", "CC6201", "expense")
        cls.chargebacks = account("Chargebacks", "CC6202", "expense")
        cls.adjustments = account("Processor adjustments", "CC6203", "expense")
        cls.reserve = account("Processor reserve", "CC1903", "asset_current")
        Journal = cls.env["account.journal"]
        cls.clearing_journal = Journal.create(
            {"name": "Shopify Payments", "code": "SHPAY", "type": "bank"}
        )
        (
            cls.clearing_journal.inbound_payment_method_line_ids
            | cls.clearing_journal.outbound_payment_method_line_ids
        ).payment_account_id = cls.clearing
        cls.stripe_journal = Journal.create(
            {"name": "Stripe", "code": "STRP", "type": "bank"}
        )
        (
            cls.stripe_journal.inbound_payment_method_line_ids
            | cls.stripe_journal.outbound_payment_method_line_ids
        ).payment_account_id = cls.clearing
        cls.bank = Journal.create(
            {"name": "Payout Bank", "code": "PBNK", "type": "bank"}
        )
        cls.bank.inbound_payment_method_line_ids.payment_account_id = cls.transit
        (cls.shopify | cls.woo).write(
            {
                "order_create_invoice": True,
                "order_register_payment": True,
                "import_payouts": True,
                "payout_journal_id": Journal.search(
                    [("type", "=", "general"), ("company_id", "=", company.id)],
                    limit=1,
                ).id,
                "payout_clearing_account_id": cls.clearing.id,
                "payout_bank_journal_id": cls.bank.id,
                "payout_fee_account_id": cls.fees.id,
                "payout_chargeback_account_id": cls.chargebacks.id,
                "payout_adjustment_account_id": cls.adjustments.id,
                "payout_reserve_account_id": cls.reserve.id,
            }
        )
        cls.shopify.payment_mapping_ids = [
            Command.create({"gateway": GATEWAY, "journal_id": cls.clearing_journal.id})
        ]
        cls.woo.payment_mapping_ids = [
            Command.create({"gateway": "stripe", "journal_id": cls.stripe_journal.id})
        ]
        cls.stripe = cls.env["channel.payment.processor"].create(
            {
                "name": "Stripe",
                "backend_id": cls.woo.id,
                "stripe_secret_key": STRIPE_SECRET_KEY,
            }
        )

    def setUp(self):
        super().setUp()
        self.Payout = self.env["channel.payout"]
        self.stripe.api_url = self.sim.base_url

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if MATCH_FIGURES:
            auto = sum(figure[0] for figure in MATCH_FIGURES.values())
            total = sum(figure[1] for figure in MATCH_FIGURES.values())
            print(  # pylint: disable=print-used
                f"\npayout lines matched automatically: {auto}/{total} "
                f"({auto / total:.0%}) over {', '.join(sorted(MATCH_FIGURES))}"
            )

    def _record_match_figure(self, scenario, payout):
        """Count the payout's lines matched by the import for the printed
        figure; the Done-when scenarios expect every one."""
        to_match = payout.line_ids.filtered(lambda line: line.match_state != "none")
        auto = to_match.filtered("is_auto_matched")
        MATCH_FIGURES[scenario] = (len(auto), len(to_match))
        self.assertEqual(auto, to_match)

    def _sell(self, count, **options):
        """`count` paid Shopify Payments orders, imported by the order pull."""
        orders = [
            self._order("shopify", gateway=GATEWAY, notify=False, **options)
            for _index in range(count)
        ]
        with self.allow_requests(all_requests=True):
            self._reconcile(self.shopify)
        return orders

    def _import(self, since="2000-01-01"):
        """Run the payout import job against the simulator."""
        self.env.flush_all()
        with self.allow_requests(all_requests=True):
            self.shopify._job_import_payouts(since=since)
        self.env.invalidate_all()

    def _import_stripe(self, since="2000-01-01"):
        self.env.flush_all()
        with self.allow_requests(all_requests=True):
            self.stripe._job_import_payouts(since=since)
        self.env.invalidate_all()

    def _payout(self, sim_payout):
        return self.Payout.search([("external_ref", "=", sim_payout["id"])])

    def _statement_line(self, amount):
        return self.env["account.bank.statement.line"].create(
            {
                "journal_id": self.bank.id,
                "amount": amount,
                "payment_ref": "SHOPIFY PAYOUT",
                "date": "2026-12-06",
            }
        )

    def _mismatches(self, backend=None):
        return self._exceptions(backend or self.shopify, "payment_mismatch")

    def _open_clearing_lines(self):
        return self.env["account.move.line"].search(
            [("account_id", "=", self.clearing.id), ("reconciled", "=", False)]
        )


@tagged("post_install", "-at_install")
class TestPayouts(PayoutCommon):
    def setUp(self):
        super().setUp()
        self._channel_acts(self.shopify._sync_webhook_subscriptions)

    def _dispute_lost(self, order, amount=None):
        """A Shopify Payments dispute on `order`, lost on the channel."""
        dispute = self._channel_acts(
            lambda: self.sim.scenario.open_dispute(
                "shopify", order["id"], amount=amount
            )
        )
        self._channel_acts(
            lambda: self.sim.scenario.update_dispute(dispute["id"], "lost")
        )
        return dispute

    def _refund(self, order):
        return self._channel_acts(
            lambda: self.sim.scenario.refund_order(
                "shopify", order["id"], lines=[("SIM-000001", 1)]
            )
        )

    def test_payout_of_orders_refunds_and_chargeback_books_and_reconciles(self):
        orders = self._sell(20)
        payments = self.env["account.payment"].search(
            [("channel_transaction_ref", "!=", False), ("payment_type", "=", "inbound")]
        )
        self.assertEqual(len(payments), 20)
        self.assertEqual(payments.journal_id, self.clearing_journal)
        self.assertEqual(payments.outstanding_account_id, self.clearing)
        for order in orders[:2]:
            self._refund(order)
        disputed = orders[2]
        # A chargeback lost before the payout: its credit note and refund
        # payment exist when the payout withdraws the amount.
        dispute = self._dispute_lost(disputed)
        self.sim.scenario.add_balance_transaction(
            "chargeback_fee", "-15.00", order_id=disputed["id"]
        )
        sim_payout = self.sim.scenario.create_payout(status="paid")
        bank_line = self._statement_line(float(sim_payout["net"]))
        self._import()

        payout = self._payout(sim_payout)
        self.assertEqual(payout.status, "paid")
        self.assertEqual(len(payout.line_ids), 24)
        self.assertEqual(payout.line_count, 23)
        self.assertEqual(payout.matched_count, 23, payout.line_ids.mapped("match_note"))
        dispute_line = payout.line_ids.filtered(lambda line: line.kind == "dispute")
        self.assertEqual(dispute_line.dispute_ref, str(dispute["id"]))
        self.assertEqual(dispute_line.payment_id.memo, str(dispute["id"]))
        self.assertTrue(dispute_line.is_reconciled)
        self.assertEqual(payout.match_state, "matched")
        self.assertFalse(self._mismatches())
        self.assertTrue(
            all(payout.line_ids.filtered("payment_id").mapped("is_reconciled"))
        )
        move = payout.move_id
        self.assertEqual(move.state, "posted")
        transit_line = move.line_ids.filtered(
            lambda aml: aml.account_id == self.transit
        )
        self.assertAlmostEqual(transit_line.balance, float(sim_payout["net"]))
        fees = sum(
            entry["fee"]
            for entry in self.sim.state.balance_transactions
            if entry["payout_id"] == sim_payout["id"]
        )
        fee_lines = move.line_ids.filtered(lambda aml: aml.account_id == self.fees)
        self.assertAlmostEqual(sum(fee_lines.mapped("balance")), float(fees))
        # The loss is the credit note's; only the chargeback fee is expensed.
        chargeback = move.line_ids.filtered(
            lambda aml: aml.account_id == self.chargebacks
        )
        self.assertAlmostEqual(sum(chargeback.mapped("balance")), 15.0)
        self.assertFalse(self._open_clearing_lines())
        # The statement line of the transfer is reconciled with the entry.
        self.assertEqual(payout.statement_line_id, bank_line)
        self.assertTrue(bank_line.is_reconciled)
        # Every card payment is settled by its payout line.
        self.assertFalse(
            self.env["account.move.line"].search_count(
                [("account_id", "=", self.clearing), ("reconciled", "=", False)]
            )
        )
        self._record_match_figure("shopify 20 orders/2 refunds/1 chargeback", payout)
        # The dashboard's figure: every line matched by the import itself.
        self.shopify.invalidate_recordset()
        self.assertEqual(self.shopify.kpi_payout_lines, 23)
        self.assertEqual(self.shopify.kpi_payout_match_rate, 1.0)
        self.assertEqual(self.shopify.kpi_payout_unmatched_amount, 0.0)
        self.assertAlmostEqual(self.shopify.kpi_payout_fees_month, float(fees))
        # Re-importing changes nothing.
        moves = self.env["account.move"].search_count([])
        self._import()
        self.assertEqual(self.env["account.move"].search_count([]), moves)
        self.assertEqual(self._payout(sim_payout), payout)
        self.assertEqual(len(payout.line_ids), 24)

    def test_unknown_transaction_and_different_amount_are_mismatches(self):
        orders = self._sell(2)
        charge = self.sim.state.shopify_orders[str(orders[0]["id"])]["transactions"][0]
        self.sim.scenario.add_balance_transaction(
            "charge",
            str(charge["amount"] - Decimal("1.00")),
            "0.50",
            order_id=orders[0]["id"],
            transaction_id=charge["id"],
        )
        self.sim.scenario.add_balance_transaction(
            "charge", "42.00", "1.52", transaction_id="987654321987"
        )
        sim_payout = self.sim.scenario.create_payout(status="in_transit")
        self._import()

        payout = self._payout(sim_payout)
        self.assertEqual(payout.match_state, "unmatched")
        states = {line.transaction_ref: line.match_state for line in payout.line_ids}
        self.assertEqual(states["987654321987"], "unmatched")
        self.assertEqual(states[str(charge["id"])], "mismatch")
        messages = " ".join(self._mismatches().mapped("name"))
        self.assertIn("42.00", messages)
        self.assertIn("difference -1.00", messages)
        self.assertAlmostEqual(
            payout.unmatched_amount, 42 + float(charge["amount"]) - 1
        )
        # Booked anyway: the net still meets the bank line; open lines wait.
        self.assertEqual(payout.move_id.state, "posted")
        self.assertEqual(len(self._mismatches()), 2)
        self.shopify.invalidate_recordset()
        self.assertAlmostEqual(self.shopify.kpi_payout_match_rate, 1 / 3)
        self.assertAlmostEqual(
            self.shopify.kpi_payout_unmatched_amount, payout.unmatched_amount
        )

    def test_short_capture_is_a_mismatch(self):
        order = self._order("shopify", gateway=GATEWAY, notify=False, captured="10.00")
        with self.allow_requests(all_requests=True):
            self._reconcile(self.shopify)
        sim_payout = self.sim.scenario.create_payout(status="paid")
        self._import()
        payout = self._payout(sim_payout)
        line = payout.line_ids
        self.assertEqual(line.match_state, "mismatch")
        self.assertIn("short capture", line.match_note)
        self.assertIn(order["name"], self._mismatches().name)

    def test_failed_payout_reverses_its_entry(self):
        self._sell(2)
        sim_payout = self.sim.scenario.create_payout(status="in_transit")
        self._import()
        payout = self._payout(sim_payout)
        self.assertEqual(payout.match_state, "matched")
        self.assertTrue(payout.move_id)
        # A bank line entered after the payout is reconciled by the next import.
        bank_line = self._statement_line(float(sim_payout["net"]))
        self._import()
        self.assertEqual(payout.statement_line_id, bank_line)
        self.assertTrue(bank_line.is_reconciled)
        self.sim.scenario.set_payout_status(sim_payout["id"], "failed")
        self._import()
        self.assertEqual(payout.status, "failed")
        reversal = payout.reversal_move_id
        self.assertEqual(reversal.state, "posted")
        self.assertEqual(reversal.reversed_entry_id, payout.move_id)
        # The card payments wait on the clearing account again.
        open_clearing = self.env["account.move.line"].search(
            [
                ("account_id", "=", self.clearing.id),
                ("reconciled", "=", False),
                ("payment_id", "!=", False),
            ]
        )
        self.assertEqual(len(open_clearing), 2)
        self._import()
        self.assertEqual(payout.reversal_move_id, reversal)


@tagged("post_install", "-at_install")
class TestStripePayouts(PayoutCommon):
    def setUp(self):
        super().setUp()
        self._channel_acts(self.woo._sync_webhook_subscriptions)

    def _sell_woo(self, count):
        orders = [
            self._order("woocommerce", gateway="stripe", notify=False)
            for _index in range(count)
        ]
        with self.allow_requests(all_requests=True):
            self._reconcile(self.woo)
        return orders

    def _charge(self, order):
        return self.sim.state.woo_orders[str(order["id"])]["transactions"][0]

    def test_stripe_payout_of_woocommerce_orders_books_and_reconciles(self):
        orders = self._sell_woo(5)
        self._channel_acts(
            lambda: self.sim.scenario.refund_order(
                "woocommerce", orders[0]["id"], lines=[("SIM-000001", 1)]
            )
        )
        refund_payment = self.env["account.payment"].search(
            [
                ("payment_type", "=", "outbound"),
                ("journal_id", "=", self.stripe_journal.id),
            ]
        )
        self.assertEqual(len(refund_payment), 1)
        disputed = self._charge(orders[1])
        self.sim.scenario.add_stripe_balance_transaction(
            "adjustment",
            str(-disputed["amount"]),
            "15.00",
            charge=disputed["authorization"],
        )
        sim_payout = self.sim.scenario.create_stripe_payout(status="paid")
        bank_line = self._statement_line(float(sim_payout["net"]))
        self._import_stripe()

        payout = self._payout(sim_payout)
        self.assertEqual(payout.processor, "stripe")
        self.assertEqual(payout.backend_id, self.woo)
        self.assertEqual(len(payout.line_ids), 7)
        self.assertEqual(payout.matched_count, 6, payout.line_ids.mapped("match_note"))
        self.assertEqual(payout.match_state, "matched")
        self.assertEqual(
            payout.line_ids.filtered(lambda line: line.kind == "refund").payment_id,
            refund_payment,
        )
        self.assertFalse(self._mismatches(self.woo))
        self._record_match_figure("stripe 5 woocommerce orders/1 refund", payout)
        move = payout.move_id
        transit = move.line_ids.filtered(lambda aml: aml.account_id == self.transit)
        self.assertAlmostEqual(transit.balance, float(sim_payout["net"]))
        # WooCommerce reports no disputes: the Stripe account's chargeback
        # and its dispute fee are expensed.
        chargeback = move.line_ids.filtered(
            lambda aml: aml.account_id == self.chargebacks
        )
        self.assertAlmostEqual(
            sum(chargeback.mapped("balance")), float(disputed["amount"]) + 15
        )
        fees = move.line_ids.filtered(lambda aml: aml.account_id == self.fees)
        stripe_fees = sum(
            e["fee"]
            for e in self.sim.state.stripe_balance
            if e["payout_id"] == sim_payout["id"]
        )
        self.assertAlmostEqual(sum(fees.mapped("balance")), float(stripe_fees) - 15)
        self.assertTrue(bank_line.is_reconciled)
        self.assertEqual(payout.statement_line_id, bank_line)
        self.assertFalse(self._open_clearing_lines())
        moves = self.env["account.move"].search_count([])
        self._import_stripe()
        self.assertEqual(self.env["account.move"].search_count([]), moves)
        self.assertEqual(len(payout.line_ids), 7)

    def test_stripe_unknown_charge_then_failed_payout(self):
        self._sell_woo(2)
        self.sim.scenario.add_stripe_balance_transaction("charge", "30.00", "1.17")
        sim_payout = self.sim.scenario.create_stripe_payout(status="in_transit")
        self._import_stripe()
        payout = self._payout(sim_payout)
        self.assertEqual(payout.match_state, "unmatched")
        self.assertAlmostEqual(payout.unmatched_amount, 30.0)
        self.assertIn("30.00", self._mismatches(self.woo).name)
        self.assertEqual(payout.move_id.state, "posted")
        self.sim.scenario.set_stripe_payout_status(sim_payout["id"], "failed")
        self._import_stripe()
        self.assertEqual(payout.status, "failed")
        self.assertEqual(payout.reversal_move_id.reversed_entry_id, payout.move_id)
        self.assertEqual(len(self._open_clearing_lines().filtered("payment_id")), 2)

    def test_stripe_short_capture_is_a_mismatch(self):
        order = self._order(
            "woocommerce", gateway="stripe", notify=False, captured="10.00"
        )
        with self.allow_requests(all_requests=True):
            self._reconcile(self.woo)
        sim_payout = self.sim.scenario.create_stripe_payout(status="paid")
        self._import_stripe()
        payout = self._payout(sim_payout)
        line = payout.line_ids
        self.assertEqual(line.amount, 10.0)
        self.assertEqual(line.match_state, "mismatch")
        self.assertEqual(payout.match_state, "unmatched")
        message = self._mismatches(self.woo).name
        self.assertIn("10.00", message)
        self.assertIn(self._sale_order(self.woo, order).name, message)
        self.assertIn("difference -", message)
        # Booked anyway: the net meets the bank line, the gap stays open.
        self.assertEqual(payout.move_id.state, "posted")

    def test_wrong_secret_key_is_an_auth_error(self):
        self.stripe.stripe_secret_key = "sk_test_wrong"
        with (
            self.assertRaises(ChannelAuthError),
            self.allow_requests(all_requests=True),
        ):
            self.stripe._job_import_payouts(since="2000-01-01")

    def test_finance_cannot_read_the_secret_key(self):
        with self.assertRaises(AccessError):
            self.stripe.with_user(self.finance_user).read(["stripe_secret_key"])
        self.assertEqual(
            self.stripe.with_user(self.manager_user).stripe_secret_key,
            STRIPE_SECRET_KEY,
        )


@tagged("post_install", "-at_install")
class TestPayoutRights(PayoutCommon):
    def test_import_enqueues_one_job_for_finance_only(self):
        with self.assertRaises(AccessError):
            self.shopify.with_user(self.ops_user).action_import_payouts()
        with trap_jobs() as trap:
            self.shopify.with_user(self.finance_user).action_import_payouts(
                "2026-01-01"
            )
            self.env["channel.backend"]._cron_import_payouts()
            trap.assert_jobs_count(2, only=self.shopify._job_import_payouts)
            # The Stripe account pays the WooCommerce backend: the cron only.
            trap.assert_jobs_count(1, only=self.stripe._job_import_payouts)

    def test_ops_user_cannot_read_payouts(self):
        with self.assertRaises(AccessError):
            self.Payout.with_user(self.ops_user).search([])


@tagged("post_install", "-at_install")
class TestPaymentRefMigration(ChannelCommon):
    def test_existing_payments_get_their_channel_transaction_id(self):
        partner = self.env["res.partner"].create({"name": "Buyer"})
        journal = self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", self.env.company.id)],
            limit=1,
        )
        keys = {
            "7:5501:6100000000000039595": "6100000000000039595",
            "7:refund:88:6100000000000040001": "6100000000000040001",
            "7:5502:manual:10.00:0": False,
            "7:refund:89:0": False,
        }
        payments = self.env["account.payment"].create(
            [
                {
                    "partner_id": partner.id,
                    "journal_id": journal.id,
                    "amount": 10,
                    "payment_type": "inbound",
                    "channel_transaction_key": key,
                }
                for key in keys
            ]
        )
        self.env.flush_all()
        load_migration("19.0.1.4.0").fill_channel_transaction_refs(self.env.cr)
        payments.invalidate_recordset()
        self.assertEqual(
            dict(
                zip(
                    payments.mapped("channel_transaction_key"),
                    payments.mapped("channel_transaction_ref"),
                    strict=True,
                )
            ),
            keys,
        )
