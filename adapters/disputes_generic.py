"""The generic JSON dispute format (schemas/generic_dispute.schema.json).

A generic sender pushes a payment dispute under the `orders/dispute` topic
when it opens and on every change of status; the body is the whole dispute.
"""

from . import generic_fields as checks
from .exceptions import ChannelPayloadError
from .records import (
    DISPUTE_CLOSED_STATUSES,
    DISPUTE_LOST_STATUSES,
    DISPUTE_OPEN_STATUSES,
    DisputeData,
)

DISPUTE_TOPICS = frozenset({"orders/dispute"})
REQUIRED_DISPUTE_FIELDS = ("id", "status", "amount")
DISPUTE_FIELD_TYPES = {
    "id": str,
    "order_id": str,
    "status": str,
    "type": str,
    "currency": str,
    "reason": str,
    "gateway": str,
}
DISPUTE_STATUSES = (
    DISPUTE_OPEN_STATUSES | DISPUTE_LOST_STATUSES | DISPUTE_CLOSED_STATUSES
)


def parse_generic_dispute(payload):
    """Canonical dispute from a generic `orders/dispute` payload.

    Raise ChannelPayloadError naming the first missing or invalid field.
    """
    if not isinstance(payload, dict):
        raise ChannelPayloadError("The generic dispute is not a JSON object.")
    checks.require(payload, REQUIRED_DISPUTE_FIELDS, "dispute")
    checks.check_types(payload, DISPUTE_FIELD_TYPES, "dispute")
    if payload["status"] not in DISPUTE_STATUSES:
        raise ChannelPayloadError(
            f"dispute.status must be one of {', '.join(sorted(DISPUTE_STATUSES))}."
        )
    amount = checks.amount(payload, "amount", "dispute")
    if amount <= 0:
        raise ChannelPayloadError("dispute.amount must be positive.")
    return DisputeData(
        external_ref=payload["id"],
        order_ref=payload.get("order_id") or None,
        status=payload["status"],
        amount=amount,
        currency=(payload.get("currency") or "").upper() or None,
        kind=payload.get("type") or "chargeback",
        reason=payload.get("reason") or None,
        evidence_due_by=checks.timestamp(payload, "evidence_due_by", "dispute"),
        finalized_at=checks.timestamp(payload, "finalized_at", "dispute"),
        gateway=payload.get("gateway") or None,
    )
