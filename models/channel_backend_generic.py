from odoo import fields, models


class ChannelBackend(models.Model):
    """Generic: any system that pushes channel_connector's JSON order format."""

    _inherit = "channel.backend"

    # === FIELDS ===

    provider = fields.Selection(
        selection_add=[("generic", "Generic JSON")],
        ondelete={"generic": "set default"},
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
            }
        )
