from odoo import fields, models


class ChannelStockLocation(models.Model):
    """A channel location (Shopify location, WooCommerce store) and the Odoo
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
        help="Shopify: the location's numeric id; WooCommerce: 'store'.",
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
