"""Amazon settlement reports (flat file V2) to canonical payouts: one line
per order or refund with its fees, account-level rows by kind, bad input."""

import gzip
from datetime import UTC, datetime
from decimal import Decimal

from odoo.tests import BaseCase, tagged

from simulator.amazon_reports import COLUMNS

from ..adapters.exceptions import ChannelPayloadError
from ..adapters.payouts_amazon import fetch_amazon_settlements, parse_settlement
from ..adapters.records import UnreadablePayout

ORDER = "113-0000001-0000001"


def flat_file(rows, total="0.00", deposit="2026-12-01 08:00:00 UTC"):
    """A settlement flat file V2 of `rows` ({column: value})."""
    summary = {
        "settlement-id": "11000000001",
        "deposit-date": deposit,
        "total-amount": total,
        "currency": "USD",
    }
    lines = ["\t".join(COLUMNS), "\t".join(summary.get(c, "") for c in COLUMNS)]
    for row in rows:
        values = {"settlement-id": "11000000001", **row}
        lines.append("\t".join(values.get(c, "") for c in COLUMNS))
    return "\n".join(lines) + "\n"


def order_row(amount_type, description, amount, **extra):
    return {
        "transaction-type": "Order",
        "order-id": ORDER,
        "amount-type": amount_type,
        "amount-description": description,
        "amount": amount,
        "posted-date-time": "2026-11-20 10:00:00 UTC",
        **extra,
    }


def other_row(amount_type, description, amount):
    return {
        "transaction-type": "other-transaction",
        "amount-type": amount_type,
        "amount-description": description,
        "amount": amount,
    }


@tagged("post_install", "-at_install")
class TestAmazonSettlementParser(BaseCase):
    def test_an_orders_rows_are_one_charge_with_its_fees(self):
        payout, lines = parse_settlement(
            flat_file(
                [
                    order_row("ItemPrice", "Principal", "20.00"),
                    order_row("ItemPrice", "Tax", "1.60"),
                    order_row(
                        "ItemWithheldTax",
                        "MarketplaceFacilitatorTax-Principal",
                        "-1.60",
                    ),
                    order_row("Promotion", "Principal", "-2.00"),
                    order_row("ItemFees", "Commission", "-2.70"),
                    order_row("ItemFees", "FBAPerUnitFulfillmentFee", "-3.22"),
                ],
                total="12.08",
            )
        )
        self.assertEqual(payout.external_ref, "11000000001")
        self.assertEqual(payout.amount, Decimal("12.08"))
        self.assertEqual(payout.issued_at, datetime(2026, 12, 1, 8, tzinfo=UTC))
        self.assertEqual(payout.status, "paid")
        (line,) = lines
        self.assertEqual(line.kind, "charge")
        self.assertEqual(line.transaction_ref, ORDER)
        self.assertEqual(line.amount, Decimal("18.00"))
        self.assertEqual(line.fee, Decimal("5.92"))
        self.assertEqual(line.net, payout.amount)

    def test_a_refund_is_known_by_its_adjustment_and_its_order(self):
        refund = {"transaction-type": "Refund", "adjustment-id": "AMZREF1"}
        _payout, (line,) = parse_settlement(
            flat_file(
                [
                    order_row("ItemPrice", "Principal", "-20.00", **refund),
                    order_row("ItemFees", "Commission", "3.00", **refund),
                    order_row("ItemFees", "RefundCommission", "-0.60", **refund),
                ]
            )
        )
        self.assertEqual(line.kind, "refund")
        self.assertEqual(line.transaction_ref, "AMZREF1")
        self.assertEqual(line.charge_ref, ORDER)
        self.assertEqual((line.amount, line.fee), (Decimal("-20.00"), Decimal("-2.40")))
        self.assertEqual(line.net, Decimal("-17.60"))

    def test_account_rows_are_reimbursements_fees_and_reserves(self):
        _payout, lines = parse_settlement(
            flat_file(
                [
                    other_row(
                        "FBA Inventory Reimbursement", "WAREHOUSE_DAMAGE", "12.50"
                    ),
                    other_row("other-transaction", "Subscription Fee", "-39.99"),
                    other_row("other-transaction", "Current Reserve Amount", "-8.00"),
                    other_row("other-transaction", "Balance Adjustment", "1.00"),
                ]
            )
        )
        self.assertEqual(
            [line.kind for line in lines], ["adjustment", "fee", "reserve", "other"]
        )
        fee = lines[1]
        self.assertEqual(
            (fee.amount, fee.fee, fee.net), (0, Decimal("39.99"), Decimal("-39.99"))
        )
        self.assertEqual(len({line.external_ref for line in lines}), 4)

    def test_what_is_not_a_settlement_report_is_a_clear_payload_error(self):
        good = [order_row("ItemPrice", "Principal", "1.00")]
        broken = {
            "no columns": "hello\tworld\n1\t2\n",
            "empty": "",
            "no summary": flat_file(good).replace("\t0.00\tUSD", "\t\tUSD"),
            "bad amount": flat_file([order_row("ItemPrice", "Principal", "1,00")]),
            "bad date": flat_file(good, deposit="yesterday"),
            "short row": flat_file(good).rsplit("\t", 20)[0] + "\n",
        }
        for case, text in broken.items():
            with self.subTest(case), self.assertRaises(ChannelPayloadError):
                parse_settlement(text)

    def test_one_unreadable_report_does_not_hold_back_the_others(self):
        documents = {
            "good": gzip.compress(flat_file([], total="0.00").encode()),
            "bad": b"not gzip",
        }

        def get(operation, path, params):
            if operation == "getReports":
                reports = [
                    {
                        "reportId": ref,
                        "processingStatus": "DONE",
                        "reportDocumentId": ref,
                    }
                    for ref in documents
                ]
                reports.append({"reportId": "later", "processingStatus": "IN_QUEUE"})
                return {"reports": reports}
            ref = path.rsplit("/", 1)[-1]
            return {"url": ref, "compressionAlgorithm": "GZIP"}

        settlements, cursor = fetch_amazon_settlements(get, documents.get, None)
        self.assertIsNone(cursor)
        (good, _lines), (bad, no_lines) = settlements
        self.assertEqual(good.external_ref, "11000000001")
        self.assertIsInstance(bad, UnreadablePayout)
        self.assertIn("report bad", bad.external_ref)
        self.assertIsNone(no_lines)
