from odoo import models

# Changing these changes which quants a location's mappings sum.
TREE_FIELDS = frozenset({"location_id", "active", "usage"})


class StockLocation(models.Model):
    _inherit = "stock.location"

    # === CRUD METHODS ===

    def write(self, vals):
        """Override of `stock`: a location moved in the tree, archived or
        given another usage changes what the channel locations mapping it or
        one of its parents publish (before and after): the next delta sends
        their levels instead of the nightly resync."""
        if not TREE_FIELDS & set(vals):
            return super().write(vals)
        before = self._mapping_channel_locations()
        result = super().write(vals)
        affected = before | self._mapping_channel_locations()
        if affected:
            # sudo: a stock user moving a location need not read channel
            # data, and no company's levels may stay unmarked.
            self.env["channel.stock.level"].sudo().search(
                [("stock_location_id", "in", affected.ids)]
            )._mark_levels_dirty()
        return result

    def _mapping_channel_locations(self):
        """The channel locations that map one of these locations or a parent."""
        ancestor_ids = {
            int(part)
            for location in self
            for part in (location.parent_path or "").split("/")
            if part
        }
        if not ancestor_ids:
            return self.env["channel.stock.location"]
        return (
            self.env["channel.stock.location"]
            .sudo()
            .with_context(active_test=False)
            .search([("location_ids", "in", list(ancestor_ids))])
        )
