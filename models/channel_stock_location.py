from odoo import fields, models

# Changing these changes what the location's levels publish.
PUBLISHING_FIELDS = frozenset({"location_ids", "active"})


class ChannelStockLocation(models.Model):
    """A channel location (a warehouse or store of the channel) and the Odoo
    locations whose free quantity it publishes (with their sub-locations)."""

    _name = "channel.stock.location"
    _description = "Channel Stock Location"
    _order = "backend_id, name, id"
    _check_company_auto = True

    # === FIELDS ===

    backend_id = fields.Many2one(
        "channel.backend", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    name = fields.Char(required=True)
    location_ref = fields.Char(
        string="Channel location id",
        required=True,
        help="The channel's id of the location (see the provider's section "
        "of the README).",
    )
    location_ids = fields.Many2many(
        "stock.location",
        string="Odoo locations",
        check_company=True,
        domain="[('usage', '=', 'internal')]",
        help="Their free quantity (on hand minus reserved), sub-locations included, "
        "is summed.",
    )
    active = fields.Boolean(default=True)

    # === CONSTRAINT METHODS ===

    _backend_location_unique = models.UniqueIndex(
        "(backend_id, location_ref)", "This channel location is already mapped."
    )

    # === CRUD METHODS ===

    def write(self, vals):
        """Override of `base`: a new mapping, or a location archived or
        restored, changes its levels' quantities: the next delta sends them."""
        result = super().write(vals)
        if PUBLISHING_FIELDS & set(vals):
            self.env["channel.stock.level"].search(
                [("stock_location_id", "in", self.ids)]
            )._mark_levels_dirty()
        return result
