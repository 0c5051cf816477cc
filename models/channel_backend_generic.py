from odoo import api, fields, models


class ChannelBackend(models.Model):
    """Generic: any system that pushes channel_connector's JSON order format."""

    _inherit = "channel.backend"

    # === FIELDS ===

    provider = fields.Selection(
        selection_add=[("generic", "Generic JSON")],
        ondelete={"generic": "set default"},
    )
    generic_fulfilment_url = fields.Char(
        string="Fulfilment URL",
        help="Validated deliveries are POSTed here as signed fulfilment/shipped "
        "messages (schemas/generic_fulfilment.schema.json).",
    )

    # === COMPUTE METHODS ===

    def _compute_capabilities(self):
        """Override of `channel_connector`: a generic channel pushes orders
        and refunds."""
        super()._compute_capabilities()
        self.filtered(lambda backend: backend.provider == "generic").update(
            {
                "supports_connection_test": True,
                "supports_webhooks": True,
                "supports_order_import": True,
                "supports_refund_import": True,
                "supports_fulfilment_export": True,
            }
        )

    # === PROVIDER HOOKS ===

    def _reports_fulfilments(self):
        """Override of `channel_connector`: a generic channel is told of
        shipments only once it has a URL to receive them."""
        if self.provider != "generic":
            return super()._reports_fulfilments()
        return super()._reports_fulfilments() and bool(self.generic_fulfilment_url)

    @api.model
    def _get_webhook_field_names(self):
        """Override of `channel_connector`: the adapter config reads the URL."""
        return [*super()._get_webhook_field_names(), "generic_fulfilment_url"]

    def _get_adapter_config(self):
        """Override of `channel_connector` to add the fulfilment URL."""
        if self.provider != "generic":
            return super()._get_adapter_config()
        return {
            **super()._get_adapter_config(),
            "fulfilment_url": self.generic_fulfilment_url or "",
        }
