"""Payout parsers and the Stripe client against the simulator's Stripe API
(built on Stripe's own fixtures): paging, expanded sources, errors."""

import json
from decimal import Decimal

from odoo.tests import BaseCase, tagged

from simulator import ChannelSimulator
from simulator.reference import reference_path
from simulator.stripe_api import STRIPE_SECRET_KEY

from ..adapters.exceptions import ChannelAuthError, ChannelPayloadError
from ..adapters.payouts_shopify import (
    parse_shopify_balance_transaction,
    parse_shopify_payout,
)
from ..adapters.stripe import (
    StripeAdapter,
    parse_stripe_balance_transaction,
    parse_stripe_payout,
)


def stripe_fixture(name):
    with open(reference_path("stripe", f"fixture__{name}.json")) as file:
        return json.load(file)


@tagged("post_install", "-at_install")
class TestPayoutParsers(BaseCase):
    def test_stripe_fixtures_parse(self):
        payout = parse_stripe_payout(stripe_fixture("payout"))
        self.assertEqual(payout.external_ref, "po_1Pgc79B7WZ01zgkWu1KToYf4")
        self.assertEqual(payout.amount, Decimal("11.00"))
        self.assertEqual(payout.currency, "USD")
        self.assertEqual(payout.status, "in_transit")
        line = parse_stripe_balance_transaction(stripe_fixture("balance_transaction"))
        self.assertEqual(line.kind, "charge")
        self.assertEqual(line.processor_ref, "ch_1PgafuB7WZ01zgkWXYmPNZs8")
        self.assertEqual(line.amount, Decimal("1.00"))

    def test_stripe_dispute_is_a_chargeback_of_its_charge(self):
        body = {
            **stripe_fixture("balance_transaction"),
            "type": "adjustment",
            "reporting_category": "dispute",
            "amount": -1000,
            "fee": 1500,
            "net": -2500,
            "source": {**stripe_fixture("dispute"), "charge": "ch_disputed"},
        }
        line = parse_stripe_balance_transaction(body)
        self.assertEqual(line.kind, "dispute")
        self.assertEqual(line.charge_ref, "ch_disputed")
        self.assertEqual(line.dispute_ref, stripe_fixture("dispute")["id"])
        self.assertEqual(line.fee, Decimal("15.00"))

    def test_stripe_fee_tax_and_presentment_amount(self):
        body = {
            **stripe_fixture("balance_transaction"),
            "amount": 1160,
            "fee": 64,
            "net": 1096,
            "currency": "eur",
            "exchange_rate": 0.928,
            "fee_details": [
                {"amount": 53, "currency": "eur", "type": "stripe_fee"},
                {"amount": 11, "currency": "eur", "type": "tax"},
            ],
            "source": {
                **stripe_fixture("charge"),
                "amount": 1250,
                "currency": "usd",
            },
        }
        line = parse_stripe_balance_transaction(body)
        self.assertEqual(line.fee_tax, Decimal("0.11"))
        self.assertEqual(line.presentment_amount, Decimal("12.50"))
        self.assertEqual(line.presentment_currency, "USD")
        same = parse_stripe_balance_transaction(stripe_fixture("balance_transaction"))
        self.assertIsNone(same.presentment_amount)
        self.assertEqual(same.fee_tax, Decimal(0))

    def test_shopify_dispute_lines_carry_their_dispute(self):
        node = {
            "id": "gid://shopify/ShopifyPaymentsBalanceTransaction/7",
            "type": "DISPUTE_WITHDRAWAL",
            "sourceType": "DISPUTE",
            "sourceId": 815700001,
            "amount": {"amount": "-30.00", "currencyCode": "USD"},
            "fee": {"amount": "0.00", "currencyCode": "USD"},
            "net": {"amount": "-30.00", "currencyCode": "USD"},
        }
        line = parse_shopify_balance_transaction(node)
        self.assertEqual((line.kind, line.dispute_ref), ("dispute", "815700001"))
        fee = parse_shopify_balance_transaction(
            {**node, "type": "CHARGEBACK_FEE", "sourceType": "CHARGE"}
        )
        self.assertEqual((fee.kind, fee.dispute_ref), ("chargeback", None))

    def test_stripe_amount_must_be_an_integer(self):
        with self.assertRaises(ChannelPayloadError):
            parse_stripe_payout({**stripe_fixture("payout"), "amount": "11.00"})

    def test_shopify_withdrawal_is_negative_and_unknown_status_refused(self):
        node = {
            "legacyResourceId": "42",
            "status": "PAID",
            "transactionType": "WITHDRAWAL",
            "issuedAt": "2026-12-01T00:00:00Z",
            "net": {"amount": "12.50", "currencyCode": "USD"},
        }
        self.assertEqual(parse_shopify_payout(node).amount, Decimal("-12.50"))
        with self.assertRaises(ChannelPayloadError):
            parse_shopify_payout({**node, "status": "LOST"})

    def test_shopify_disputed_amounts_and_chargeback_fees(self):
        money = {"amount": "-30.00", "currencyCode": "USD"}
        kinds = {"DISPUTE_WITHDRAWAL": "dispute", "CHARGEBACK_FEE": "chargeback"}
        for kind, expected in kinds.items():
            line = parse_shopify_balance_transaction(
                {
                    "id": "gid://shopify/ShopifyPaymentsBalanceTransaction/7",
                    "type": kind,
                    "amount": money,
                    "fee": {"amount": "0.00", "currencyCode": "USD"},
                    "net": money,
                    "associatedOrder": {"id": "gid://shopify/Order/9", "name": "#1"},
                }
            )
            self.assertEqual(line.kind, expected)
            self.assertEqual(line.order_ref, "9")


@tagged("post_install", "-at_install")
class TestStripeClient(BaseCase):
    def setUp(self):
        super().setUp()
        self.sim = ChannelSimulator(seed=5).start()
        self.addCleanup(self.sim.stop)
        self.sleeps = []
        self.client = StripeAdapter(
            {
                "base_url": self.sim.base_url,
                "secret_key": STRIPE_SECRET_KEY,
                "sleep": self.sleeps.append,
            }
        )

    def _payout(self, count):
        for _index in range(count):
            self.sim.scenario.add_stripe_balance_transaction("charge", "10.00", "0.59")
        return self.sim.scenario.create_stripe_payout()

    def test_balance_transactions_are_read_page_by_page_with_sources(self):
        payout = self._payout(130)
        lines = self.client.fetch_payout_lines(payout["id"])
        self.assertEqual(len(lines), 130)
        self.assertEqual(len({line.external_ref for line in lines}), 130)
        self.assertTrue(all(line.processor_ref.startswith("ch_") for line in lines))
        self.assertEqual(self.sim.state.calls["GET /v1/balance_transactions"], 2)
        self.assertEqual(sum(line.net for line in lines), Decimal(payout["net"]))

    def test_payouts_are_listed_newest_first(self):
        first = self._payout(1)
        second = self._payout(1)
        payouts, cursor = self.client.fetch_payouts(None)
        self.assertEqual([p.external_ref for p in payouts], [second["id"], first["id"]])
        self.assertIsNone(cursor)

    def test_rate_limit_is_waited_out_in_place(self):
        self._payout(1)
        self.sim.state.faults.add("stripe", "429", count=1)
        payouts, _cursor = self.client.fetch_payouts(None)
        self.assertEqual(len(payouts), 1)
        self.assertEqual(len(self.sleeps), 1)

    def test_unknown_payout_and_wrong_key(self):
        with self.assertRaises(ChannelPayloadError):
            self.client.fetch_payout_lines("po_unknown")
        self.client.config["secret_key"] = "sk_test_wrong"
        with self.assertRaises(ChannelAuthError):
            self.client.fetch_payouts(None)
