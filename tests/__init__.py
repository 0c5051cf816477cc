from . import (
    test_channel_backend,
    test_channel_event,
    test_channel_exception,
    test_channel_http,
    test_dashboard,
    test_job_channels,
    test_order_import,
    test_security,
    test_shopify_graphql,
    test_stock_export,
    test_tour,
    test_webhook_controller,
)
