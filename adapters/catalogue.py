"""The catalogue as adapters read and publish it: channel variants to bind,
products to publish, and what the channel answered."""

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class ChannelVariant:
    """One sellable variant of the channel's catalogue.

    `product_ref` is the parent product (WooCommerce variations are written
    under it); `inventory_item_ref` is Shopify's inventory item, the key of
    its stock writes. Both are None where the channel has no such thing.
    """

    variant_ref: str
    sku: str | None
    title: str
    product_ref: str | None = None
    inventory_item_ref: str | None = None


@dataclass(frozen=True)
class VariantData:
    """One variant to publish. Every value went through `values.outbound`:
    None means "Odoo holds none" and is never sent as a value.

    `options` are the variant's (option name, value name) pairs in the order
    of the product's options; `variant_ref` is the channel's id when the
    variant is known there already. Weight is in `weight_unit` ("kg", "lb").
    """

    sku: str
    price: Decimal
    options: tuple = ()
    compare_at_price: Decimal | None = None
    barcode: str | None = None
    weight: Decimal | None = None
    weight_unit: str = "kg"
    tracked: bool = True
    taxable: bool = True
    variant_ref: str | None = None
    # The `ImageData.key` of the product's image this variant shows.
    image: str | None = None


@dataclass(frozen=True)
class ImageData:
    """One image of a product to publish: its bytes, their type and a
    `key` naming it among the product's images (a checksum of the bytes)."""

    key: str
    filename: str
    mime_type: str
    content: bytes = field(repr=False)
    alt: str | None = None


@dataclass(frozen=True)
class ProductData:
    """One product to publish with all its variants.

    `options` are (option name, (value names...)) pairs; a product without
    options has one variant and no options. `product_ref` is the channel's
    id when the product is known there already; `handle` names it stably
    before that (a channel that upserts by handle never creates it twice).
    """

    title: str
    variants: tuple
    options: tuple = ()
    description_html: str | None = None
    active: bool = True
    product_ref: str | None = None
    handle: str | None = None
    # `ImageData`s to set, in order; None leaves the channel's images as
    # they are (unchanged since last acknowledged, or images not published).
    images: tuple | None = None


@dataclass(frozen=True)
class PublishedVariant:
    """What the channel calls one variant it holds after a publish."""

    sku: str
    variant_ref: str
    inventory_item_ref: str | None = None
    # The parent its stock and prices are written under (None: itself).
    product_ref: str | None = None


@dataclass(frozen=True)
class PublishResult:
    """The channel's product id and its variants after a publish."""

    product_ref: str
    variants: tuple = field(default_factory=tuple)


@dataclass(frozen=True)
class PriceUpdate:
    """A new price (and compare-at price, None for none) of one variant
    already published; `product_ref` is its binding's (None for a
    WooCommerce simple product, written directly)."""

    variant_ref: str
    price: Decimal
    compare_at_price: Decimal | None = None
    product_ref: str | None = None


@dataclass(frozen=True)
class ChannelProductEdit:
    """A product as a channel delivery says it is now (someone may have
    edited it on the channel): its title and the prices of the variants
    the delivery carries, as (variant ref, price) pairs."""

    product_ref: str
    title: str | None = None
    prices: tuple = ()


@dataclass(frozen=True)
class StoreSettings:
    """What the store says of its money and weights: its currency (ISO
    code) and the unit its product weights are in ("kg", "g", "lb", "oz");
    None where the store does not say."""

    currency: str | None
    weight_unit: str | None = None


# Kilograms in one unit of each weight unit, by the names Odoo and the
# channels use ("lbs" is WooCommerce's name of the pound).
KILOGRAMS_PER_UNIT = {
    "kg": Decimal(1),
    "g": Decimal("0.001"),
    "lb": Decimal("0.45359237"),
    "lbs": Decimal("0.45359237"),
    "oz": Decimal("0.028349523125"),
}


def convert_weight(weight, from_unit, to_unit, digits=3):
    """`weight` (a Decimal in `from_unit`) in `to_unit`, rounded half up to
    `digits`; None when either unit is unknown (never a weight in a wrong
    unit) or there is no weight."""
    if weight is None:
        return None
    source = KILOGRAMS_PER_UNIT.get(from_unit)
    target = KILOGRAMS_PER_UNIT.get(to_unit)
    if source is None or target is None:
        return None
    return (weight * source / target).quantize(
        Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP
    )


def product_handle(title, key):
    """A stable URL handle for a product: its title in lowercase ASCII
    words joined by hyphens, then `key` (unique per product, so that two
    products of one title never share a handle)."""
    ascii_title = unicodedata.normalize("NFKD", title or "").encode("ascii", "ignore")
    words = re.findall(r"[a-z0-9]+", ascii_title.decode().lower())
    return "-".join([*words[:8], str(key)])
