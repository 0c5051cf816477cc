{
    "name": "Channel Connector",
    "summary": "Odoo as the system of record for Shopify, WooCommerce and other "
    "sales channels: orders in, stock out, every failure an owned exception",
    "version": "19.0.1.0.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "author": "channel_connector",
    "depends": ["sale_stock", "account", "queue_job"],
    "external_dependencies": {"python": ["requests"]},
    "data": [
        "security/channel_connector_security.xml",
        "security/ir.model.access.csv",
        "data/queue_job_data.xml",
        "data/ir_cron_data.xml",
        "views/channel_backend_views.xml",
        "views/channel_backend_shopify_views.xml",
        "views/channel_backend_woocommerce_views.xml",
        "views/channel_menus.xml",
    ],
    "installable": True,
    "application": True,
}
