"""Channel variants as the catalogue match reads them."""

from dataclasses import dataclass


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
