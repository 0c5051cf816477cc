from odoo import api, models


class StockQuant(models.Model):
    """Every change of on-hand or reserved quantity flags the variant's channel
    stock levels dirty: a cheap UPDATE, the export job does the computing."""

    _inherit = "stock.quant"

    @api.model
    def _update_available_quantity(self, product_id, location_id, *args, **kwargs):
        """Override of `stock` to flag the variant for the next stock export."""
        result = super()._update_available_quantity(
            product_id, location_id, *args, **kwargs
        )
        self.env["channel.stock.level"]._mark_dirty(product_id.ids)
        return result

    @api.model
    def _update_reserved_quantity(self, product_id, location_id, *args, **kwargs):
        """Override of `stock`: a reservation changes the free quantity too."""
        result = super()._update_reserved_quantity(
            product_id, location_id, *args, **kwargs
        )
        self.env["channel.stock.level"]._mark_dirty(product_id.ids)
        return result
