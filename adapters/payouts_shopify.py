"""Shopify Payments payouts: `shopifyPaymentsAccount { payouts }` newest
first, and a payout's balance transactions through
`balanceTransactions(query: "payout_id:...")`, as canonical payout records."""

from .exceptions import ChannelPayloadError
from .records import (
    PAYOUT_ADJUSTMENT,
    PAYOUT_CHARGE,
    PAYOUT_CHARGEBACK,
    PAYOUT_DISPUTE,
    PAYOUT_FEE,
    PAYOUT_OTHER,
    PAYOUT_REFUND,
    PAYOUT_RESERVE,
    PayoutData,
    PayoutLineData,
    money,
)
from .webhooks import parse_timestamp

PAYOUT_PAGE = 50
BALANCE_PAGE = 100
PAYOUTS_QUERY = f"""
query ChannelConnectorPayouts($after: String) {{
  shopifyPaymentsAccount {{
    payouts(first: {PAYOUT_PAGE}, after: $after) {{
      nodes {{
        id legacyResourceId status issuedAt transactionType
        net {{ amount currencyCode }}
      }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}
"""
BALANCE_TRANSACTIONS_QUERY = f"""
query ChannelConnectorPayoutLines($query: String!, $after: String) {{
  shopifyPaymentsAccount {{
    balanceTransactions(first: {BALANCE_PAGE}, after: $after, query: $query) {{
      nodes {{
        id type transactionDate sourceType sourceId sourceOrderTransactionId
        amount {{ amount currencyCode }}
        fee {{ amount currencyCode }}
        net {{ amount currencyCode }}
        associatedOrder {{ id name }}
      }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}
"""
PAYOUT_STATUSES = {
    "SCHEDULED": "scheduled",
    "IN_TRANSIT": "in_transit",
    "PAID": "paid",
    "FAILED": "failed",
    "CANCELED": "canceled",
}
LINE_KINDS = {
    "CHARGE": PAYOUT_CHARGE,
    "REFUND": PAYOUT_REFUND,
    # The disputed amount withdrawn, held, paid back: matched to the lost
    # dispute's refund payment on the clearing account.
    "DISPUTE_WITHDRAWAL": PAYOUT_DISPUTE,
    "DISPUTE_REVERSAL": PAYOUT_DISPUTE,
    "CHARGEBACK_HOLD": PAYOUT_DISPUTE,
    "CHARGEBACK_HOLD_RELEASE": PAYOUT_DISPUTE,
    # What the dispute costs besides: an expense.
    "CHARGEBACK_FEE": PAYOUT_CHARGEBACK,
    "CHARGEBACK_FEE_REFUND": PAYOUT_CHARGEBACK,
    "ADJUSTMENT": PAYOUT_ADJUSTMENT,
    "CHARGE_ADJUSTMENT": PAYOUT_ADJUSTMENT,
    "REFUND_ADJUSTMENT": PAYOUT_ADJUSTMENT,
    "REFUND_FAILURE": PAYOUT_ADJUSTMENT,
    "RESERVED_FUNDS": PAYOUT_RESERVE,
    "RESERVED_FUNDS_REVERSAL": PAYOUT_RESERVE,
    "RESERVED_FUNDS_WITHDRAWAL": PAYOUT_RESERVE,
    "STRIPE_FEE": PAYOUT_FEE,
    "APPLICATION_FEE_REFUND": PAYOUT_FEE,
}


def _numeric(value):
    if value is None or value == "":
        return None
    return str(value).rsplit("/", 1)[-1]


def _amount(node, key, where):
    value = node.get(key) or {}
    return money(value.get("amount"), f"{where}.{key}"), value.get("currencyCode")


def parse_shopify_payout(node):
    """A `ShopifyPaymentsPayout` node as `PayoutData` (a withdrawal negative)."""
    ref = _numeric(node.get("legacyResourceId") or node.get("id"))
    if not ref:
        raise ChannelPayloadError("A Shopify payout has no id.")
    amount, currency = _amount(node, "net", f"payout {ref}")
    if node.get("transactionType") == "WITHDRAWAL":
        amount = -abs(amount)
    status = PAYOUT_STATUSES.get(node.get("status"))
    if not status:
        raise ChannelPayloadError(
            f"Shopify payout {ref} has an unknown status {node.get('status')!r}."
        )
    return PayoutData(
        external_ref=ref,
        processor="shopify_payments",
        status=status,
        amount=amount,
        currency=currency,
        issued_at=parse_timestamp(node.get("issuedAt")),
    )


def parse_shopify_balance_transaction(node):
    """A `ShopifyPaymentsBalanceTransaction` node as `PayoutLineData`."""
    ref = _numeric(node.get("id"))
    where = f"balance transaction {ref}"
    amount, currency = _amount(node, "amount", where)
    fee, _currency = _amount(node, "fee", where)
    net, _currency = _amount(node, "net", where)
    raw_type = node.get("type") or ""
    order = node.get("associatedOrder") or {}
    kind = LINE_KINDS.get(raw_type, PAYOUT_OTHER)
    is_dispute = (node.get("sourceType") or "").upper() == "DISPUTE"
    return PayoutLineData(
        external_ref=ref,
        kind=kind,
        raw_type=raw_type.lower(),
        amount=amount,
        fee=fee,
        net=net,
        currency=currency,
        transaction_ref=_numeric(node.get("sourceOrderTransactionId")),
        processor_ref=None,
        order_ref=_numeric(order.get("id")),
        order_name=order.get("name"),
        processed_at=parse_timestamp(node.get("transactionDate")),
        dispute_ref=_numeric(node.get("sourceId")) if is_dispute else None,
    )


def fetch_shopify_payouts(graphql, since, cursor=None):
    """One page of payouts, newest first, stopping at those issued before
    `since`: ([PayoutData], next cursor or None)."""
    data = graphql(PAYOUTS_QUERY, {"after": cursor})
    connection = (data.get("shopifyPaymentsAccount") or {}).get("payouts") or {}
    payouts = [parse_shopify_payout(node) for node in connection.get("nodes") or ()]
    kept = [p for p in payouts if not since or not p.issued_at or p.issued_at >= since]
    page = connection.get("pageInfo") or {}
    more = page.get("hasNextPage") and len(kept) == len(payouts)
    return kept, (page.get("endCursor") if more else None)


def fetch_shopify_payout_lines(graphql, payout_ref):
    """Every balance transaction of payout `payout_ref`, all pages."""
    lines, cursor = [], None
    while True:
        data = graphql(
            BALANCE_TRANSACTIONS_QUERY,
            {"query": f"payout_id:{payout_ref}", "after": cursor},
        )
        account = data.get("shopifyPaymentsAccount") or {}
        connection = account.get("balanceTransactions") or {}
        lines += [
            parse_shopify_balance_transaction(node)
            for node in connection.get("nodes") or ()
        ]
        page = connection.get("pageInfo") or {}
        if not page.get("hasNextPage"):
            return lines
        cursor = page.get("endCursor")
