"""Stock quantities as the adapters send and read them."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StockQuantity:
    """A quantity to publish for one variant at one channel location.

    `change_from` is the quantity we believe the channel holds (None when we
    do not know): Shopify refuses the write when it is stale, so a concurrent
    sale on the channel is never overwritten blindly.
    """

    variant_ref: str
    location_ref: str
    quantity: int
    change_from: int | None = None
    inventory_item_ref: str | None = None
    product_ref: str | None = None


@dataclass(frozen=True)
class StockWriteResult:
    """What happened to one StockQuantity: applied, or stale with the channel's
    current quantity (to retry from)."""

    quantity: StockQuantity
    applied: bool
    channel_quantity: int | None = None
    message: str = ""
    # The channel refused this quantity for good (Amazon: an INVALID
    # listing); `message` is its reason. Not retried, never taken as sent.
    refused: bool = False


@dataclass(frozen=True)
class ChannelStockReport:
    """A quantity the channel reports on its own (Shopify's
    `inventory_levels/update` webhook), whoever changed it."""

    inventory_item_ref: str
    location_ref: str
    available: int
    reported_at: datetime | None


@dataclass(frozen=True)
class FulfilledInventory:
    """A SKU's stock the channel holds in its own warehouses for the seller
    (Amazon FBA): `quantity` is what Odoo holds at its location for it,
    `total` all the channel counts (customer orders, inbound included)."""

    sku: str
    quantity: int
    total: int
