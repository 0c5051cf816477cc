"""Shopify refunds, from a GraphQL `Refund` node to the canonical refund.

Amounts are the shop-currency side (`shopMoney`), like orders. The webhook
body of `refunds/create` only says which refund of which order: the refund
itself is read through GraphQL, the same way for a delivery, a replay and a
backfill.
"""

from .exceptions import ChannelPayloadError, malformed
from .orders_shopify import MONEY, _graphql_money, _graphql_transaction, _ref
from .records import (
    ChannelRefund,
    RefundAdjustmentData,
    RefundLineData,
    RefundNotice,
    RefundShippingData,
    payload_digest,
    quantity,
)
from .webhooks import parse_timestamp

MAX_REFUND_LINES = 100
REFUND_QUERY = f"""
query ChannelConnectorRefund($id: ID!) {{
  refund(id: $id) {{
    id createdAt note
    order {{ id currencyCode taxesIncluded }}
    return {{ id }}
    totalRefundedSet {{ {MONEY} }}
    refundLineItems(first: {MAX_REFUND_LINES}) {{
      pageInfo {{ hasNextPage }}
      nodes {{
        id quantity restockType
        location {{ id }}
        lineItem {{ id }}
        subtotalSet {{ {MONEY} }}
        totalTaxSet {{ {MONEY} }}
      }}
    }}
    refundShippingLines(first: 10) {{
      nodes {{ id subtotalAmountSet {{ {MONEY} }} taxAmountSet {{ {MONEY} }} }}
    }}
    orderAdjustments(first: 20) {{
      nodes {{ id reason amountSet {{ {MONEY} }} taxAmountSet {{ {MONEY} }} }}
    }}
    transactions(first: 20) {{
      nodes {{
        id gateway kind status authorizationCode receiptJson processedAt
        amountSet {{ {MONEY} }}
      }}
    }}
  }}
}}
"""


def parse_refund_notice(topic, payload):
    """The refund a `refunds/create` body announces, None for other topics."""
    if topic != "refunds/create":
        return None
    if not isinstance(payload, dict):
        raise ChannelPayloadError("The refunds/create body is not an object.")
    refund_ref = _ref(payload.get("id"))
    if not refund_ref:
        raise ChannelPayloadError("The refunds/create body has no refund id.")
    return RefundNotice(refund_ref=refund_ref, order_ref=_ref(payload.get("order_id")))


def parse_shopify_graphql_refund(node):
    """Canonical refund from the `refund` node of REFUND_QUERY."""
    if not isinstance(node, dict) or not node.get("id"):
        raise ChannelPayloadError("The Shopify refund has no id.")
    with malformed(
        "Shopify refund", node.get("id"), (AttributeError, TypeError, KeyError)
    ):
        items = node.get("refundLineItems") or {}
        if (items.get("pageInfo") or {}).get("hasNextPage"):
            raise ChannelPayloadError(
                f"Refund {_ref(node['id'])} has more than {MAX_REFUND_LINES} lines."
            )
        return _refund(node)


def _refund(node):
    order = node.get("order") or {}
    if not order.get("id"):
        raise ChannelPayloadError(f"The Shopify refund {node['id']} has no order.")
    total = node.get("totalRefundedSet")
    return ChannelRefund(
        external_ref=_ref(node["id"]),
        order_ref=_ref(order["id"]),
        provider="shopify",
        currency=((total or {}).get("shopMoney") or {}).get("currencyCode")
        or order.get("currencyCode"),
        total=_graphql_money(total, "totalRefundedSet"),
        taxes_included=bool(order.get("taxesIncluded")),
        created_at=parse_timestamp(node.get("createdAt")),
        note=node.get("note"),
        return_ref=_ref((node.get("return") or {}).get("id")),
        lines=tuple(_line(item) for item in _nodes(node, "refundLineItems")),
        shipping_lines=tuple(
            RefundShippingData(
                external_ref=_ref(item.get("id")),
                amount=_graphql_money(item.get("subtotalAmountSet"), "shipping"),
                tax=_graphql_money(item.get("taxAmountSet"), "shipping tax"),
            )
            for item in _nodes(node, "refundShippingLines")
        ),
        adjustments=tuple(
            _adjustment(item) for item in _nodes(node, "orderAdjustments")
        ),
        transactions=tuple(
            _graphql_transaction(t) for t in _nodes(node, "transactions")
        ),
        source_payload_digest=payload_digest(node),
    )


def _nodes(node, key):
    return (node.get(key) or {}).get("nodes") or []


def _line(item):
    line_ref = _ref((item.get("lineItem") or {}).get("id"))
    if not line_ref:
        raise ChannelPayloadError("A Shopify refund line names no line item.")
    return RefundLineData(
        external_ref=_ref(item.get("id")),
        line_ref=line_ref,
        quantity=quantity(item.get("quantity"), "refundLineItems.quantity"),
        subtotal=_graphql_money(item.get("subtotalSet"), "refund line subtotal"),
        tax=_graphql_money(item.get("totalTaxSet"), "refund line tax"),
        restock_type=(item.get("restockType") or "NO_RESTOCK").lower(),
        location_ref=_ref((item.get("location") or {}).get("id")),
    )


def _adjustment(item):
    """Shopify signs an adjustment from the order's side: a negative one
    gives the buyer more back. Its tax is part of what is given back."""
    amount = _graphql_money(item.get("amountSet"), "orderAdjustments.amountSet")
    tax = _graphql_money(item.get("taxAmountSet"), "orderAdjustments.taxAmountSet")
    return RefundAdjustmentData(
        external_ref=_ref(item.get("id")),
        reason=(item.get("reason") or "").lower() or None,
        amount=-(amount + tax),
    )
