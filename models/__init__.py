from . import (
    channel_backend,
    channel_backend_generic,
    channel_backend_shopify,
    channel_backend_woocommerce,
)
