from odoo import api, fields, models

from .channel_backend import MANAGER_GROUP

WOOCOMMERCE_API_VERSION = "wc/v3"


class ChannelBackend(models.Model):
    """WooCommerce: REST API v3 with a consumer key and secret."""

    _inherit = "channel.backend"

    # === FIELDS ===

    provider = fields.Selection(
        selection_add=[("woocommerce", "WooCommerce")],
        ondelete={"woocommerce": "set default"},
    )
    woocommerce_consumer_key = fields.Char(
        string="Consumer key", groups=MANAGER_GROUP, copy=False
    )
    woocommerce_consumer_secret = fields.Char(
        string="Consumer secret", groups=MANAGER_GROUP, copy=False
    )
    woocommerce_refund_restock = fields.Boolean(
        string="Restock refunded lines",
        default=True,
        help="WooCommerce refunds do not say whether the goods come back: "
        "when set, shipped units of refunded lines are returned to stock.",
    )

    # === COMPUTE METHODS ===

    def _compute_capabilities(self):
        """Override of `channel_connector` to switch on WooCommerce's flows."""
        super()._compute_capabilities()
        self.filtered(lambda backend: backend.provider == "woocommerce").update(
            {
                "supports_connection_test": True,
                "supports_webhooks": True,
                "supports_order_import": True,
                "supports_order_pull": True,
                "supports_stock_export": True,
                "supports_refund_import": True,
                "supports_fulfilment_export": True,
                "supports_catalogue_publish": True,
            }
        )

    # === PROVIDER HOOKS ===

    def _get_default_api_version(self):
        """Override of `channel_connector`: WooCommerce versions its REST routes."""
        if self.provider != "woocommerce":
            return super()._get_default_api_version()
        return WOOCOMMERCE_API_VERSION

    def _get_required_webhook_topics(self):
        """Override of `channel_connector`: the topics our flows need."""
        if self.provider != "woocommerce":
            return super()._get_required_webhook_topics()
        topics = ["order.created", "order.updated"] if self.import_orders else []
        if self.publish_catalogue:
            topics.append("product.updated")
        return topics

    def _get_sandbox_values(self):
        """Override of `channel_connector`: the simulator's store keys."""
        if self.provider != "woocommerce":
            return super()._get_sandbox_values()
        return {
            "backend": {
                "name": "SANDBOX WooCommerce (simulator)",
                "sequence": 2,
                "woocommerce_consumer_key": "ck_sim",
                "woocommerce_consumer_secret": "cs_sim",
                "webhook_secret": "sim_woo_secret",
            },
            "location": ("Store", "store"),
            "gateways": ("stripe", "paypal", "bacs", "cod"),
            "clearing": {"stripe": ("Stripe", "STRP")},
            # The simulator's Stripe account (simulator/stripe_api.py).
            "processors": (
                {
                    "name": "Stripe (simulator)",
                    "processor": "stripe",
                    "stripe_secret_key": "sk_test_simulator",
                },
            ),
        }

    @api.model
    def _get_webhook_field_names(self):
        """Override of `channel_connector` to add the credentials the adapter reads."""
        return [
            *super()._get_webhook_field_names(),
            "woocommerce_consumer_key",
            "woocommerce_consumer_secret",
            "woocommerce_refund_restock",
        ]

    def _get_adapter_config(self):
        """Override of `channel_connector` to add the consumer key and secret."""
        if self.provider != "woocommerce":
            return super()._get_adapter_config()
        return {
            **super()._get_adapter_config(),
            "consumer_key": self.woocommerce_consumer_key or "",
            "consumer_secret": self.woocommerce_consumer_secret or "",
            "refund_restock": self.woocommerce_refund_restock,
        }
