from odoo import models


class StockPicking(models.Model):
    """A delivery a warehouse partner shipped carries its carrier."""

    _inherit = "stock.picking"

    def _get_channel_tracking(self):
        """Override of `channel_connector`: the carrier a warehouse partner
        confirmed, when the delivery names none."""
        tracking = super()._get_channel_tracking()
        if not tracking["company"]:
            shipment = (
                self.env["channel.handoff.shipment"]
                .sudo()
                .search([("picking_id", "=", self.id)], limit=1)
            )
            tracking["company"] = shipment.carrier_name or None
        return tracking
