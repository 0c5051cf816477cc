"""Stripe API for the payouts of WooCommerce orders paid with Stripe.

`GET /v1/payouts` and `GET /v1/balance_transactions?payout=po_...` with
`expand[]=data.source`, list paging by `limit` (1..100) and
`starting_after`, Bearer secret key. Objects are Stripe's fixtures
(reference/stripe) with the simulator's values; errors in Stripe's shape
`{"error": {"type", "code", "message"}}` (401 bad key, 404 unknown object,
400 bad parameter, 429 rate limited when a fault is injected).
"""

import copy
import json
from decimal import Decimal

from werkzeug.wrappers import Response

from .reference import reference_path

STRIPE_SECRET_KEY = "sk_test_simulator"
MAX_LIMIT = 100
ZERO_DECIMAL = frozenset({"jpy", "krw", "vnd", "clp", "isk", "huf", "twd", "ugx"})


def fixture(name):
    with open(reference_path("stripe", f"fixture__{name}.json")) as file:
        return json.load(file)


def minor_units(amount, currency):
    """Stripe's integer amount of a Decimal in `currency`."""
    places = 0 if currency.lower() in ZERO_DECIMAL else 2
    return int((Decimal(amount) * 10**places).to_integral_value())


class StripeApi:
    """The Stripe account's balance and payouts, over HTTP."""

    def __init__(self, state):
        self.state = state
        self.templates = {
            name: fixture(name)
            for name in ("payout", "balance_transaction", "charge", "refund", "dispute")
        }

    # === HTTP ===

    def handle(self, request):
        auth = request.headers.get("Authorization") or ""
        if auth != f"Bearer {STRIPE_SECRET_KEY}":
            return _error(
                401,
                "invalid_request_error",
                "Invalid API Key provided: " + _masked(auth.removeprefix("Bearer ")),
            )
        if request.method != "GET":
            return _error(405, "invalid_request_error", "Method not allowed.")
        self.state.record_call(f"GET {request.path}")
        fault = self.state.take_fault("stripe")
        if fault is not None:
            return _error(
                429,
                "rate_limit_error",
                "Too many requests hit the API too quickly.",
                code="rate_limit",
            )
        if request.path == "/v1/payouts":
            return self._list(request, self._payouts(), self.payout_object)
        if request.path == "/v1/balance_transactions":
            return self._balance_transactions(request)
        return _error(
            404,
            "invalid_request_error",
            f"Unrecognized request URL (GET: {request.path}).",
        )

    def _balance_transactions(self, request):
        payout_id = request.args.get("payout")
        entries = self.state.stripe_balance
        if payout_id:
            if not any(p["id"] == payout_id for p in self.state.stripe_payouts):
                return _error(
                    404,
                    "invalid_request_error",
                    f"No such payout: '{payout_id}'",
                    code="resource_missing",
                    param="payout",
                )
            entries = [e for e in entries if e["payout_id"] == payout_id]
        expand = "data.source" in request.args.getlist("expand[]")
        return self._list(
            request,
            sorted(entries, key=lambda e: -e["number"]),
            lambda entry: self.balance_object(entry, expand),
        )

    def _payouts(self):
        return sorted(self.state.stripe_payouts, key=lambda p: -p["number"])

    def _list(self, request, items, build):
        try:
            limit = int(request.args.get("limit", 10))
        except ValueError:
            limit = -1
        if not 1 <= limit <= MAX_LIMIT:
            return _error(
                400,
                "invalid_request_error",
                "Invalid integer: limit must be between 1 and 100.",
                param="limit",
            )
        after = request.args.get("starting_after")
        if after:
            ids = [item["id"] for item in items]
            if after not in ids:
                return _error(
                    400,
                    "invalid_request_error",
                    f"No such object: '{after}'",
                    code="resource_missing",
                    param="starting_after",
                )
            items = items[ids.index(after) + 1 :]
        gte = request.args.get("created[gte]")
        if gte:
            items = [item for item in items if item["created"] >= int(gte)]
        page = items[:limit]
        return _json(
            {
                "object": "list",
                "url": request.path,
                "has_more": len(items) > limit,
                "data": [build(item) for item in page],
            }
        )

    # === OBJECTS ===

    def payout_object(self, payout):
        body = copy.deepcopy(self.templates["payout"])
        body.update(
            {
                "id": payout["id"],
                "amount": minor_units(payout["amount"], payout["currency"]),
                "currency": payout["currency"],
                "created": payout["created"],
                "arrival_date": payout["created"] + 2 * 86400,
                "status": payout["status"],
                "balance_transaction": f"txn_po_{payout['number']}",
                "failure_code": "account_closed"
                if payout["status"] == "failed"
                else None,
                "failure_message": "The bank account has been closed."
                if payout["status"] == "failed"
                else None,
            }
        )
        return body

    def balance_object(self, entry, expand=False):
        body = copy.deepcopy(self.templates["balance_transaction"])
        currency = entry["currency"]
        body.update(
            {
                "id": entry["id"],
                "amount": minor_units(entry["amount"], currency),
                "fee": minor_units(entry["fee"], currency),
                "net": minor_units(entry["amount"] - entry["fee"], currency),
                "currency": currency,
                "created": entry["created"],
                "available_on": entry["created"],
                "type": entry["type"],
                "reporting_category": entry["reporting_category"],
                "description": entry.get("description"),
                "fee_details": _fee_details(entry, currency),
                # Settled in another currency than the charge's: Stripe's rate.
                "exchange_rate": float(
                    round(abs(entry["amount"]) / entry["source_amount"], 6)
                )
                if entry.get("source_amount")
                else None,
                "source": self._source(entry) if expand else entry["source_id"],
            }
        )
        return body

    def _source(self, entry):
        kind, source_id = entry["source_kind"], entry["source_id"]
        if not source_id:
            return None
        if kind not in self.templates:
            return source_id
        source = copy.deepcopy(self.templates[kind])
        currency = entry["currency"]
        # A charge settled in another currency keeps the buyer's amount.
        source_currency = entry.get("source_currency") or currency
        source_amount = entry.get("source_amount") or abs(entry["amount"])
        source.update(
            {
                "id": source_id,
                "amount": minor_units(source_amount, source_currency),
                "currency": source_currency,
                "balance_transaction": entry["id"],
            }
        )

        if kind == "charge":
            source.update(
                {
                    "captured": True,
                    "paid": True,
                    "amount_captured": source["amount"],
                    "payment_intent": entry.get("payment_intent"),
                }
            )
        else:
            source["charge"] = entry.get("charge")
        return source


def _fee_details(entry, currency):
    """The fee split as Stripe states it: processing fees, and the VAT on
    them where Stripe charges it."""
    tax = entry.get("fee_tax") or 0
    details = []
    if entry["fee"] - tax:
        details.append(
            {
                "amount": minor_units(entry["fee"] - tax, currency),
                "application": None,
                "currency": currency,
                "description": "Stripe processing fees",
                "type": "stripe_fee",
            }
        )
    if tax:
        details.append(
            {
                "amount": minor_units(tax, currency),
                "application": None,
                "currency": currency,
                "description": "VAT",
                "type": "tax",
            }
        )
    return details


def _masked(key):
    return f"{key[:7]}{'*' * max(len(key) - 11, 0)}{key[-4:]}" if key else ""


def _error(status, error_type, message, code=None, param=None):
    error = {"type": error_type, "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return _json({"error": error}, status)


def _json(payload, status=200):
    return Response(json.dumps(payload), status=status, mimetype="application/json")
