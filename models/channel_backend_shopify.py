from odoo import api, fields, models

from ..adapters.returns_shopify import RETURN_TOPICS
from ..adapters.values import outbound
from .channel_backend import MANAGER_GROUP

SHOPIFY_API_VERSION = "2026-07"


class ChannelBackend(models.Model):
    """Shopify: Admin GraphQL API with an access token, HMAC-signed webhooks."""

    _inherit = "channel.backend"

    # === FIELDS ===

    provider = fields.Selection(
        selection_add=[("shopify", "Shopify")], ondelete={"shopify": "set default"}
    )
    shopify_shop_domain = fields.Char(
        string="Shop domain",
        help="The shop's permanent domain, e.g. my-shop.myshopify.com.",
    )
    shopify_auth_method = fields.Selection(
        [
            ("client_credentials", "Client ID and secret (Dev Dashboard app)"),
            ("access_token", "Admin API access token (legacy custom app)"),
        ],
        string="Authentication",
        default="client_credentials",
        help="Apps created since 2026 come from the Dev Dashboard: the "
        "connector exchanges their client ID and secret for a token that "
        "lasts about a day, and renews it. Legacy custom apps have a static "
        "shpat_ token.",
    )
    shopify_client_id = fields.Char(
        string="Client ID", groups=MANAGER_GROUP, copy=False
    )
    shopify_access_token = fields.Char(
        string="Admin API access token", groups=MANAGER_GROUP, copy=False
    )

    # === CRUD METHODS ===

    @api.model_create_multi
    def create(self, vals_list):
        """A Shopify backend given only a static token uses it."""
        for vals in vals_list:
            if vals.get("shopify_access_token") and not vals.get("shopify_auth_method"):
                vals["shopify_auth_method"] = "access_token"
        return super().create(vals_list)

    # === COMPUTE METHODS ===

    def _compute_capabilities(self):
        """Override of `channel_connector` to switch on Shopify's flows."""
        super()._compute_capabilities()
        self.filtered(lambda backend: backend.provider == "shopify").update(
            {
                "supports_connection_test": True,
                "supports_webhooks": True,
                "supports_order_import": True,
                "supports_order_pull": True,
                "supports_stock_export": True,
                "supports_refund_import": True,
                "supports_fulfilment_export": True,
                "supports_payout_import": True,
                "supports_catalogue_publish": True,
                "supports_catalogue_images": True,
            }
        )

    # === PROVIDER HOOKS ===

    def _get_default_api_version(self):
        """Override of `channel_connector` to pin the Admin API version we target."""
        if self.provider != "shopify":
            return super()._get_default_api_version()
        return SHOPIFY_API_VERSION

    def _get_required_webhook_topics(self):
        """Override of `channel_connector`: the topics our flows need."""
        if self.provider != "shopify":
            return super()._get_required_webhook_topics()
        topics = ["app/uninstalled"]
        if self.import_orders:
            topics += ["orders/create", "orders/updated", "orders/cancelled"]
            topics += ["orders/edited", "refunds/create"]
            topics += ["disputes/create", "disputes/update"]
            topics += sorted(RETURN_TOPICS)
            # Shipped on Shopify: the Odoo delivery follows.
            topics += ["fulfillments/create", "fulfillments/update"]
        if self.export_stock:
            # Keeps the compare-and-set figure fresh; our own writes echo back.
            topics.append("inventory_levels/update")
        if self.publish_catalogue:
            # Edits made in Shopify's admin, compared with Odoo's data.
            topics.append("products/update")
        return topics

    def _should_read_current_order(self, order, replay):
        """Override of `channel_connector`: a webhook body is incomplete.

        It has no risk assessment and no transactions, so whenever the import
        will create or refresh a sale order from it (a quotation as well as a
        confirmed order: a high-risk quotation must be held too), the order
        is read through GraphQL. An order that waits or is cancelled is not
        built from the body: it is not read.
        """
        if super()._should_read_current_order(order, replay):
            return True
        if self.provider != "shopify":
            return False
        return bool(
            self.order_read_from_channel
            and not order.is_complete
            and self._get_order_action(order) not in ("wait", "cancel")
        )

    def _get_stock_binding_gap(self, binding):
        """Override of `channel_connector`: Shopify writes stock by inventory
        item, which only the catalogue match records."""
        if self.provider != "shopify":
            return super()._get_stock_binding_gap(binding)
        if not binding.inventory_item_ref:
            return self.env._("the Shopify inventory item of the variant is unknown")
        return None

    def _get_variant_binding_values(self, variant):
        """Override of `channel_connector`: the variant's inventory item."""
        if self.provider != "shopify":
            return super()._get_variant_binding_values(variant)
        return {"inventory_item_ref": variant.inventory_item_ref}

    def _get_stock_quantity_values(self, binding):
        """Override of `channel_connector`: stock is written by inventory item."""
        if self.provider != "shopify":
            return super()._get_stock_quantity_values(binding)
        return {"inventory_item_ref": outbound(binding.inventory_item_ref)}

    def _get_stock_report_binding_domain(self, report):
        """Override of `channel_connector`: reports name the inventory item."""
        if self.provider != "shopify":
            return super()._get_stock_report_binding_domain(report)
        return [("inventory_item_ref", "=", report.inventory_item_ref)]

    def _get_sandbox_values(self):
        """Override of `channel_connector`: the simulator's shop and token."""
        if self.provider != "shopify":
            return super()._get_sandbox_values()
        return {
            "backend": {
                "name": "SANDBOX Shopify (simulator)",
                "sequence": 1,
                "shopify_shop_domain": "demo-shop.myshopify.com",
                "shopify_auth_method": "client_credentials",
                "shopify_client_id": "sim_client_id",
                "webhook_secret": "sim_shopify_secret",
            },
            "location": ("Main warehouse", "1001"),
            "gateways": ("shopify_payments", "paypal", "manual", "gift_card"),
            "clearing": {"shopify_payments": ("Shopify Payments", "SHPAY")},
        }

    @api.model
    def _get_webhook_field_names(self):
        """Override of `channel_connector` to add the credentials the adapter reads."""
        return [
            *super()._get_webhook_field_names(),
            "shopify_shop_domain",
            "shopify_auth_method",
            "shopify_client_id",
            "shopify_access_token",
        ]

    def _get_adapter_config(self):
        """Override of `channel_connector` to add the shop domain and token."""
        if self.provider != "shopify":
            return super()._get_adapter_config()
        config = {
            **super()._get_adapter_config(),
            "shop_domain": self.shopify_shop_domain or "",
        }
        if self.shopify_auth_method == "access_token":
            config["access_token"] = self.shopify_access_token or ""
        else:
            # The app's client secret is also its webhook signing secret.
            config["client_id"] = self.shopify_client_id or ""
            config["token_provider"] = self.env["channel.access.token"]._for_backend(
                self
            )
        return config
