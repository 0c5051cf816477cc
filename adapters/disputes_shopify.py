"""Shopify Payments disputes (chargebacks and inquiries).

`disputes/create` and `disputes/update` deliver the dispute in its REST shape
(`id`, `order_id`, `amount`, `reason`, `status`, `evidence_due_by`...);
updates may arrive out of order, so the dispute is read again through GraphQL
(`ShopifyPaymentsDispute`) and its current status applied.
"""

from .exceptions import ChannelPayloadError
from .orders_shopify import _ref
from .records import DisputeData, money
from .webhooks import parse_timestamp

DISPUTE_TOPICS = frozenset({"disputes/create", "disputes/update"})
# Shopify Payments is the only gateway whose disputes Shopify reports.
DISPUTE_GATEWAY = "shopify_payments"
DISPUTE_QUERY = """
query ChannelConnectorDispute($id: ID!) {
  dispute(id: $id) {
    id status type initiatedAt evidenceDueBy finalizedOn
    amount { amount currencyCode }
    reasonDetails { reason networkReasonCode }
    order { id }
  }
}
"""


def parse_dispute_webhook(payload):
    """Canonical dispute from a `disputes/*` delivery body."""
    if not isinstance(payload, dict) or not _ref(payload.get("id")):
        raise ChannelPayloadError("The Shopify dispute has no id.")
    return DisputeData(
        external_ref=_ref(payload["id"]),
        order_ref=_ref(payload.get("order_id")),
        status=_lower(payload.get("status")) or "needs_response",
        amount=money(payload.get("amount"), "dispute amount"),
        currency=(payload.get("currency") or "").upper() or None,
        kind=_lower(payload.get("type")) or "chargeback",
        reason=_lower(payload.get("reason")),
        evidence_due_by=parse_timestamp(payload.get("evidence_due_by")),
        finalized_at=parse_timestamp(payload.get("finalized_on")),
        gateway=DISPUTE_GATEWAY,
    )


def parse_graphql_dispute(node):
    """Canonical dispute from the `dispute` node of DISPUTE_QUERY."""
    if not isinstance(node, dict) or not node.get("id"):
        raise ChannelPayloadError("The Shopify dispute has no id.")
    amount = node.get("amount") or {}
    return DisputeData(
        external_ref=_ref(node["id"]),
        order_ref=_ref((node.get("order") or {}).get("id")),
        status=_lower(node.get("status")) or "needs_response",
        amount=money(amount.get("amount"), "dispute amount"),
        currency=amount.get("currencyCode"),
        kind=_lower(node.get("type")) or "chargeback",
        reason=_lower((node.get("reasonDetails") or {}).get("reason")),
        evidence_due_by=parse_timestamp(node.get("evidenceDueBy")),
        finalized_at=parse_timestamp(node.get("finalizedOn")),
        gateway=DISPUTE_GATEWAY,
    )


def _lower(value):
    if value is not None and not isinstance(value, str):
        raise ChannelPayloadError(f"Unreadable dispute field {value!r}.")
    return (value or "").lower() or None
