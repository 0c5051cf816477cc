from . import (
    channel_backend,
    channel_backend_dashboard,
    channel_backend_generic,
    channel_backend_integration_map,
    channel_backend_shopify,
    channel_backend_woocommerce,
    channel_event,
    channel_event_correction,
    channel_exception,
    channel_exception_owner,
    channel_kpi_snapshot,
)
