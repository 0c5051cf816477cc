from odoo import fields, models


class ChannelProductBinding(models.Model):
    """Shopify writes and reports stock by inventory item, not by variant."""

    _inherit = "channel.product.binding"

    # === FIELDS ===

    inventory_item_ref = fields.Char(
        string="Inventory item id", help="Shopify's inventory item of the variant."
    )
