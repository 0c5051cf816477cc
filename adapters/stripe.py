"""Stripe, the processor behind a channel's card payments (WooCommerce's
usual gateway): its payouts and their balance transactions, read-only.

Not a channel: it implements only the payout operations of `ChannelAdapter`
and is built by the processor account record, not `_get_adapter()`.
"""

from datetime import UTC, datetime
from decimal import Decimal

from .base import ChannelAdapter
from .exceptions import ChannelPayloadError
from .records import (
    PAYOUT_ADJUSTMENT,
    PAYOUT_CHARGE,
    PAYOUT_DISPUTE,
    PAYOUT_FEE,
    PAYOUT_OTHER,
    PAYOUT_REFUND,
    PAYOUT_RESERVE,
    PayoutData,
    PayoutLineData,
)

STRIPE_API_URL = "https://api.stripe.com"
PAGE_SIZE = 100
ZERO_DECIMAL = frozenset(
    {
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
        "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
    }
)  # fmt: skip
PAYOUT_STATUSES = {
    "pending": "scheduled",
    "in_transit": "in_transit",
    "paid": "paid",
    "failed": "failed",
    "canceled": "canceled",
}
LINE_KINDS = {
    "charge": PAYOUT_CHARGE,
    "payment": PAYOUT_CHARGE,
    "refund": PAYOUT_REFUND,
    "payment_refund": PAYOUT_REFUND,
    "refund_failure": PAYOUT_ADJUSTMENT,
    "payment_failure_refund": PAYOUT_ADJUSTMENT,
    "stripe_fee": PAYOUT_FEE,
    "stripe_fx_fee": PAYOUT_FEE,
    "tax_fee": PAYOUT_FEE,
    "application_fee": PAYOUT_FEE,
    "reserve_transaction": PAYOUT_RESERVE,
    "reserved_funds": PAYOUT_RESERVE,
    "adjustment": PAYOUT_ADJUSTMENT,
}
# The payout's own debit of the balance is in its list: not a line of it.
SKIPPED_TYPES = frozenset({"payout", "payout_cancel", "payout_failure"})


def stripe_amount(value, currency, what):
    """A Stripe integer minor-unit amount as Decimal in major units."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ChannelPayloadError(f"{what} is not a Stripe amount: {value!r}")
    places = 0 if (currency or "").lower() in ZERO_DECIMAL else 2
    return Decimal(value).scaleb(-places)


def _timestamp(value):
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else None


def parse_stripe_payout(body):
    """A Stripe `payout` object as `PayoutData`."""
    ref, currency = body.get("id"), body.get("currency")
    status = PAYOUT_STATUSES.get(body.get("status"))
    if not ref or not status:
        raise ChannelPayloadError(
            f"Unreadable Stripe payout {ref!r} (status {body.get('status')!r})."
        )
    return PayoutData(
        external_ref=ref,
        processor="stripe",
        status=status,
        amount=stripe_amount(body.get("amount"), currency, f"payout {ref}"),
        currency=(currency or "").upper(),
        issued_at=_timestamp(body.get("created")),
        arrival_date=_timestamp(body.get("arrival_date")),
        bank_reference=body.get("statement_descriptor") or None,
    )


def _kind(body, source):
    kind = LINE_KINDS.get(body.get("type"), PAYOUT_OTHER)
    category = body.get("reporting_category")
    if category in ("dispute", "dispute_reversal") or _is_dispute(source):
        return PAYOUT_DISPUTE
    return kind


def _is_dispute(source):
    return isinstance(source, dict) and source.get("object") == "dispute"


def _fee_tax(body, currency, where):
    """The tax part of the fee (`fee_details` of type `tax`, e.g. VAT)."""
    return sum(
        (
            stripe_amount(detail.get("amount"), currency, f"{where}.fee_details")
            for detail in body.get("fee_details") or ()
            if isinstance(detail, dict) and detail.get("type") == "tax"
        ),
        Decimal(0),
    )


def _presentment(body, source, currency):
    """What the buyer paid in the charge's own currency, when the balance
    transaction settled it in another one (Stripe converts at
    `exchange_rate`)."""
    if not isinstance(source, dict) or _is_dispute(source):
        return None, None
    source_currency = (source.get("currency") or "").lower()
    if not source_currency or source_currency == (currency or "").lower():
        return None, None
    amount = stripe_amount(source.get("amount"), source_currency, "source.amount")
    sign = -1 if stripe_amount(body.get("amount"), currency, "amount") < 0 else 1
    return amount * sign, source_currency.upper()


def parse_stripe_balance_transaction(body):
    """A `balance_transaction` (source expanded or not) as `PayoutLineData`."""
    ref, currency = body.get("id"), body.get("currency")
    where = f"balance transaction {ref}"
    source = body.get("source")
    source_id = source.get("id") if isinstance(source, dict) else source
    charge = source.get("charge") if isinstance(source, dict) else None
    if isinstance(charge, dict):
        charge = charge.get("id")
    intent = source.get("payment_intent") if isinstance(source, dict) else None
    if isinstance(intent, dict):
        intent = intent.get("id")
    presentment_amount, presentment_currency = _presentment(body, source, currency)
    return PayoutLineData(
        external_ref=ref,
        kind=_kind(body, source),
        raw_type=body.get("type") or "",
        amount=stripe_amount(body.get("amount"), currency, f"{where}.amount"),
        fee=stripe_amount(body.get("fee"), currency, f"{where}.fee"),
        net=stripe_amount(body.get("net"), currency, f"{where}.net"),
        currency=(currency or "").upper(),
        transaction_ref=intent,
        processor_ref=source_id,
        charge_ref=charge,
        processed_at=_timestamp(body.get("created")),
        dispute_ref=source_id if _is_dispute(source) else None,
        fee_tax=_fee_tax(body, currency, where),
        presentment_amount=presentment_amount,
        presentment_currency=presentment_currency,
    )


class StripeAdapter(ChannelAdapter):
    """Stripe's REST API with the account's secret key."""

    code = "stripe"

    def _get_once(self, path, params):
        base_url = (self.config.get("base_url") or STRIPE_API_URL).rstrip("/")
        response = self.transport.request(
            "GET",
            f"{base_url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.config['secret_key']}"},
        )
        return response.json()

    def _get(self, path, params):
        body = self.call_with_backoff(self._get_once, path, params)
        if body.get("object") != "list" or not isinstance(body.get("data"), list):
            raise ChannelPayloadError(f"Stripe {path} did not answer a list.")
        return body

    def test_connection(self):
        """Override of `ChannelAdapter`: the secret key lists one payout."""
        self._get("/v1/payouts", {"limit": 1})
        return True

    def fetch_payouts(self, since, cursor=None):
        """Override of `ChannelAdapter`: `GET /v1/payouts`, newest first."""
        params = {"limit": PAGE_SIZE}
        if since:
            params["created[gte]"] = int(since.timestamp())
        if cursor:
            params["starting_after"] = cursor
        body = self._get("/v1/payouts", params)
        payouts = [parse_stripe_payout(item) for item in body["data"]]
        more = body.get("has_more") and payouts
        return payouts, (payouts[-1].external_ref if more else None)

    def fetch_payout_lines(self, payout_ref):
        """Override of `ChannelAdapter`: `GET /v1/balance_transactions`
        of the payout with their sources, every page."""
        lines, after = [], None
        while True:
            params = {
                "payout": payout_ref,
                "limit": PAGE_SIZE,
                "expand[]": "data.source",
            }
            if after:
                params["starting_after"] = after
            body = self._get("/v1/balance_transactions", params)
            items = body["data"]
            lines += [
                parse_stripe_balance_transaction(item)
                for item in items
                if item.get("type") not in SKIPPED_TYPES
            ]
            if not body.get("has_more") or not items:
                return lines
            after = items[-1]["id"]
