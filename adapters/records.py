"""The canonical order: what every channel's order payload is parsed into.

Frozen dataclasses, money as `Decimal` in the order currency, datetimes
timezone-aware UTC. The ORM side imports only these, never a channel's JSON.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from .exceptions import ChannelPayloadError

ZERO = Decimal("0")


def money(value, what):
    """A channel amount (string or number) as Decimal; `what` names it on error."""
    if value is None or value == "":
        return ZERO
    try:
        # str() first: a JSON float like 89.99 must not become 89.98999...
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ChannelPayloadError(f"{what} is not an amount: {value!r}") from exc
    if isinstance(value, bool) or not amount.is_finite():
        raise ChannelPayloadError(f"{what} is not an amount: {value!r}")
    return amount


def quantity(value, what):
    """A line quantity as Decimal (channels send 2, 2.0 or "2")."""
    if value is None or value == "":
        raise ChannelPayloadError(f"{what} is missing.")
    return money(value, what)


def normalize_email(email):
    """Stripped, lower-cased email or None: the key that finds a returning buyer."""
    email = (email or "").strip().lower()
    return email or None


def payload_digest(payload):
    """sha256 of the canonical JSON of a payload: unchanged content, same digest."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class AddressData:
    name: str | None = None
    company: str | None = None
    street: str | None = None
    street2: str | None = None
    city: str | None = None
    zip: str | None = None
    state_code: str | None = None
    country_code: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class CustomerData:
    """The buyer; `external_ref` is None for a guest checkout.

    `email` is always normalised (`normalize_email`), whatever the parser
    passed: it is the key that matches a guest to an existing partner.
    """

    external_ref: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "email", normalize_email(self.email))


@dataclass(frozen=True)
class TaxLineData:
    """One tax on a line; `rate` is a fraction (Decimal("0.2") for 20 %)."""

    title: str | None
    rate: Decimal
    amount: Decimal
    price_included: bool


@dataclass(frozen=True)
class DiscountData:
    """One discount of the order; `kind` says where its amount is booked.

    - ``line``: already inside the lines' `discount_amount`;
    - ``shipping``: already inside the shipping lines' `discount_amount`;
    - ``order``: on no line; tax-included when the order's prices are, and
      reducing the taxable base (the channel taxed the discounted lines): the
      importer spreads it over the product lines by tax group.

    Only ``order`` discounts count again in `OrderData.computed_total`; the
    others tell which code or promotion gave the line discounts.
    """

    title: str | None
    code: str | None
    amount: Decimal
    kind: str


@dataclass(frozen=True)
class OrderLineData:
    """A product line; `unit_price` is before discounts, tax-included when the
    order is; `discount_amount` is the line's whole discount (line-level and its
    share of order-level discounts)."""

    external_ref: str
    sku: str | None
    variant_ref: str | None
    product_ref: str | None
    name: str | None
    quantity: Decimal
    unit_price: Decimal
    discount_amount: Decimal = ZERO
    taxes: tuple = ()
    is_gift_card: bool = False
    requires_shipping: bool = True


@dataclass(frozen=True)
class ShippingLineData:
    title: str | None
    code: str | None
    price: Decimal
    discount_amount: Decimal = ZERO
    taxes: tuple = ()


@dataclass(frozen=True)
class PaymentTransactionData:
    """A payment event; `transaction_ref` is the processor's id that bank and
    payout lines carry, put in the Odoo payment's memo."""

    external_ref: str | None
    gateway: str | None
    kind: str
    status: str
    amount: Decimal
    currency: str | None = None
    transaction_ref: str | None = None
    processed_at: datetime | None = None


@dataclass(frozen=True)
class OrderData:
    """One channel order with the channel's own totals, as stated.

    Amounts are in `currency`, the currency the channel settles in (for
    Shopify the shop currency, not the buyer's `presentment_currency`), so
    that the invoice matches the payout. `gift_card_amount` is what gift cards
    paid: a payment, not a discount, so `total` includes it. Statuses are the
    channel's own, lower-case; `ChannelAdapter.order_status_action` maps them.
    """

    external_ref: str
    name: str
    provider: str
    currency: str
    created_at: datetime | None
    updated_at: datetime | None
    taxes_included: bool
    financial_status: str | None
    total: Decimal
    lines: tuple = ()
    shipping_lines: tuple = ()
    transactions: tuple = ()
    customer: CustomerData | None = None
    billing_address: AddressData | None = None
    shipping_address: AddressData | None = None
    presentment_currency: str | None = None
    cancelled_at: datetime | None = None
    fulfillment_status: str | None = None
    subtotal: Decimal = ZERO
    total_discount: Decimal = ZERO
    total_shipping: Decimal = ZERO
    total_tax: Decimal = ZERO
    discounts: tuple = ()
    gift_card_amount: Decimal = ZERO
    is_high_risk: bool = False
    risk_reasons: tuple = ()
    location_ref: str | None = None
    market: str | None = None
    note: str | None = None
    tags: tuple = ()
    # The channel ids of the order's refunds (`ChannelRefund`), applied after
    # the order: an order imported already refunded gets its credit notes.
    refund_refs: tuple = field(default=(), compare=False)
    source_payload_digest: str = field(default="", compare=False)
    # False when the payload leaves out what a confirmed order needs (a
    # Shopify webhook body has no transactions, gift card payments or risk).
    is_complete: bool = field(default=True, compare=False)

    @property
    def is_converted(self):
        """The buyer paid in another currency than the one the amounts are in."""
        return bool(self.presentment_currency) and (
            self.presentment_currency != self.currency
        )

    def converted_amounts(self):
        """How many amounts the channel converted one by one: each can round
        half a cent away from the converted total."""
        return (
            len(self.lines)
            + sum(len(line.taxes) for line in self.lines)
            + len(self.shipping_lines)
            + sum(len(s.taxes) for s in self.shipping_lines)
            + len(self.discounts)
        )

    def computed_total(self):
        """Lines − discounts + shipping (+ tax when prices exclude it).

        Equal to `total` when a parser read every part of a consistent payload:
        the parser tests prove it on real payloads.
        """
        lines = sum(
            (
                line.unit_price * line.quantity - line.discount_amount
                for line in self.lines
            ),
            ZERO,
        )
        shipping = sum((s.price - s.discount_amount for s in self.shipping_lines), ZERO)
        order_discounts = sum(
            (d.amount for d in self.discounts if d.kind == "order"), ZERO
        )
        tax = ZERO if self.taxes_included else self.total_tax
        return lines + shipping - order_discounts + tax


@dataclass(frozen=True)
class UnreadableOrder:
    """An order of a listed page that could not be read or parsed.

    Pages of orders (backfill, reconciliation) hand it over in place of its
    `OrderData`, so that one bad order does not fail the page: the caller
    records the error against this order and goes on with the others.
    `external_ref` is None when even the order's id is missing.
    """

    external_ref: str | None
    name: str
    error: str
    updated_at: datetime | None = None


# === REFUNDS ===

# Restock types (Shopify's RefundLineItemRestockType, lower case): the first
# two put the goods back in stock, CANCEL refunds goods never shipped.
RESTOCK_RETURN = "return"
RESTOCK_LEGACY = "legacy_restock"
RESTOCK_CANCEL = "cancel"
RESTOCK_NONE = "no_restock"


@dataclass(frozen=True)
class RefundLineData:
    """Refunded quantity of one order line (`line_ref`, the order line's
    `external_ref`, else its `sku`); `subtotal` is after the line's
    discounts, tax-included when the order is, `tax` the tax refunded."""

    external_ref: str | None
    line_ref: str | None
    quantity: Decimal
    subtotal: Decimal
    tax: Decimal = ZERO
    restock_type: str = RESTOCK_NONE
    location_ref: str | None = None
    # A channel that names the line by SKU only (generic format).
    sku: str | None = None

    @property
    def restocks(self):
        return self.restock_type in (RESTOCK_RETURN, RESTOCK_LEGACY)


@dataclass(frozen=True)
class RefundShippingData:
    """Refunded shipping: `amount` tax-included when the order is."""

    external_ref: str | None
    amount: Decimal
    tax: Decimal = ZERO


@dataclass(frozen=True)
class RefundAdjustmentData:
    """An amount refunded on no line (discrepancy, goodwill, amount-only
    refund); positive when it gives the buyer more back."""

    external_ref: str | None
    reason: str | None
    amount: Decimal


@dataclass(frozen=True)
class ChannelRefund:
    """One channel refund of an order, as the channel states it.

    `total` is the money given back (successful refund transactions); a
    refund paid in store credit has a zero total but still refunds its lines.
    """

    external_ref: str
    order_ref: str
    provider: str
    currency: str | None
    total: Decimal
    taxes_included: bool = False
    created_at: datetime | None = None
    note: str | None = None
    lines: tuple = ()
    shipping_lines: tuple = ()
    adjustments: tuple = ()
    transactions: tuple = ()
    # The channel return this refund settles (its goods came back with it).
    return_ref: str | None = None
    source_payload_digest: str = field(default="", compare=False)

    @property
    def refund_transactions(self):
        """The successful refund transactions: the money that moved."""
        return tuple(
            t for t in self.transactions if t.kind == "refund" and t.status == "success"
        )

    @property
    def money_moved(self):
        return bool(self.refund_transactions)

    def computed_total(self):
        """Lines + shipping (+ their tax when prices exclude it) + adjustments:
        what the refund is worth, whatever paid it back."""
        tax = ZERO
        if not self.taxes_included:
            tax = sum((line.tax for line in self.lines), ZERO) + sum(
                (s.tax for s in self.shipping_lines), ZERO
            )
        return (
            sum((line.subtotal for line in self.lines), ZERO)
            + sum((s.amount for s in self.shipping_lines), ZERO)
            + sum((a.amount for a in self.adjustments), ZERO)
            + tax
        )

    def expected_total(self):
        """The figure the credit note must equal: the money given back, or
        what the refund is worth when no money moved."""
        return self.total if self.money_moved else self.computed_total()


@dataclass(frozen=True)
class RefundNotice:
    """What a delivery says about a refund: which one, of which order."""

    refund_ref: str
    order_ref: str | None


@dataclass(frozen=True)
class OrderEditData:
    """A channel edit of a placed order: line quantities removed and added
    (`(line_ref, quantity)`, the order line's `external_ref`), and whether it
    changed anything else (discounts, shipping lines)."""

    external_ref: str
    order_ref: str
    removals: tuple = ()
    additions: tuple = ()
    other_changes: tuple = ()


RETURN_LIVE_STATUSES = frozenset({"open", "closed"})
RETURN_DEAD_STATUSES = frozenset({"canceled", "declined"})


@dataclass(frozen=True)
class ReturnData:
    """A return opened on the channel ahead of its refund: `lines` are
    `(line_ref, quantity)` of order lines coming back; `status` lower case
    (requested, open, closed, declined, canceled)."""

    external_ref: str
    order_ref: str
    status: str
    name: str | None = None
    lines: tuple = ()


# Dispute statuses (lower case, Shopify's `DisputeStatus` names).
DISPUTE_OPEN_STATUSES = frozenset({"needs_response", "under_review"})
DISPUTE_LOST_STATUSES = frozenset({"lost", "accepted"})
DISPUTE_CLOSED_STATUSES = frozenset({"won", "prevented", "charge_refunded"})


@dataclass(frozen=True)
class DisputeData:
    """A payment dispute (chargeback or inquiry) as the channel states it now.

    `amount` is what the card holder disputes, in `currency`; `status` one of
    the dispute statuses above; `gateway` None when the channel does not say
    (the order's payment journal is used)."""

    external_ref: str
    order_ref: str | None
    status: str
    amount: Decimal
    currency: str | None
    kind: str = "chargeback"
    reason: str | None = None
    evidence_due_by: datetime | None = None
    finalized_at: datetime | None = None
    gateway: str | None = None

    @property
    def is_lost(self):
        return self.status in DISPUTE_LOST_STATUSES

    @property
    def is_closed(self):
        return self.status in DISPUTE_CLOSED_STATUSES


@dataclass(frozen=True)
class FulfilmentLine:
    """Shipped quantity of one channel order line (`line_ref`, the order
    line's `external_ref`), in the channel line's unit."""

    line_ref: str
    quantity: int


@dataclass(frozen=True)
class FulfilmentRequest:
    """One Odoo delivery to report as shipped on the channel."""

    order_ref: str
    lines: tuple[FulfilmentLine, ...]
    tracking_number: str | None = None
    tracking_company: str | None = None
    tracking_url: str | None = None
    notify_customer: bool = False
    # The channel location it ships from (None: where the channel assigned it).
    location_ref: str | None = None
    # The Odoo delivery (stable across retries), for channels without
    # shipments of their own; whether the whole order has shipped with it.
    shipment_ref: str | None = None
    order_fully_shipped: bool = False


@dataclass(frozen=True)
class FulfilmentResult:
    """What the channel made of a `FulfilmentRequest`: its fulfilment ids,
    or none when every shipped line was fulfilled there already."""

    fulfilment_refs: tuple[str, ...] = ()
    already_fulfilled: bool = False


@dataclass(frozen=True)
class ChannelShipment:
    """A fulfilment made on the channel itself (staff, an app, another
    warehouse): the quantities it shipped per channel order line.

    `whole_order`: the channel says only that the order shipped whole
    (WooCommerce `completed`); `lines` is then empty and everything still
    open ships. `cancelled`: the channel cancelled this fulfilment.
    """

    fulfilment_ref: str
    order_ref: str
    lines: tuple[FulfilmentLine, ...] = ()
    tracking_number: str | None = None
    tracking_company: str | None = None
    tracking_url: str | None = None
    whole_order: bool = False
    cancelled: bool = False


# Canonical payout line kinds: what the booking does with each.
PAYOUT_CHARGE = "charge"
PAYOUT_REFUND = "refund"
PAYOUT_CHARGEBACK = "chargeback"
PAYOUT_DISPUTE = "dispute"
PAYOUT_FEE = "fee"
PAYOUT_ADJUSTMENT = "adjustment"
PAYOUT_RESERVE = "reserve"
PAYOUT_OTHER = "other"


@dataclass(frozen=True)
class PayoutData:
    """One processor payout (a bank transfer of the net of many balance
    transactions); `amount` is the net transferred, negative for a withdrawal.
    `status` is scheduled, in_transit, paid, failed or canceled."""

    external_ref: str
    processor: str
    status: str
    amount: Decimal
    currency: str
    issued_at: datetime | None = None
    arrival_date: datetime | None = None
    bank_reference: str | None = None


@dataclass(frozen=True)
class PayoutLineData:
    """One balance transaction of a payout: `amount` signed as it moves the
    balance (a refund is negative), `fee` what the processor kept, `net` =
    amount - fee. `transaction_ref` is the channel's transaction id (Shopify
    order transaction), `processor_ref` the processor's (Stripe `ch_...`),
    `charge_ref` the charge a refund or dispute belongs to."""

    external_ref: str
    kind: str
    raw_type: str
    amount: Decimal
    fee: Decimal
    net: Decimal
    currency: str
    transaction_ref: str | None = None
    processor_ref: str | None = None
    charge_ref: str | None = None
    order_ref: str | None = None
    order_name: str | None = None
    processed_at: datetime | None = None
    dispute_ref: str | None = None
    fee_tax: Decimal = Decimal(0)
    presentment_amount: Decimal | None = None
    presentment_currency: str | None = None


@dataclass(frozen=True)
class UnreadablePayout:
    """A payout of a listed page that could not be read (a settlement report
    that is not one), in place of its `PayoutData`: the import records the
    error and goes on with the others."""

    external_ref: str
    error: str
