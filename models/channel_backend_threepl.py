from odoo import fields, models


class ChannelBackend(models.Model):
    """Warehouse partner (3PL): takes signed fulfilment requests, sends signed
    shipment confirmations and stock snapshots (see `channel_backend_handoff`)."""

    _inherit = "channel.backend"

    # === FIELDS ===

    provider = fields.Selection(
        selection_add=[("threepl", "Warehouse partner (3PL)")],
        ondelete={"threepl": "set default"},
    )

    # === COMPUTE METHODS ===

    def _compute_capabilities(self):
        """Override of `channel_connector`: a partner takes deliveries and
        sends signed confirmations and snapshots."""
        super()._compute_capabilities()
        self.filtered(lambda backend: backend.provider == "threepl").update(
            {
                "supports_connection_test": True,
                "supports_webhooks": True,
                "supports_fulfilment_handoff": True,
            }
        )
