"""ORM-free code that talks to sales channels (never imports odoo)."""

from .amazon import AmazonAdapter
from .generic import GenericAdapter
from .shopify import ShopifyAdapter
from .threepl import ThreePLAdapter
from .woocommerce import WooCommerceAdapter

ADAPTERS = {
    adapter.code: adapter
    for adapter in (
        ShopifyAdapter,
        WooCommerceAdapter,
        GenericAdapter,
        ThreePLAdapter,
        AmazonAdapter,
    )
}


def get_adapter(code, config, transport=None):
    """Build the adapter of provider `code` from a plain configuration dict."""
    try:
        adapter_class = ADAPTERS[code]
    except KeyError as exc:
        raise ValueError(f"No channel adapter for provider {code!r}") from exc
    return adapter_class(config, transport=transport)
