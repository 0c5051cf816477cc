from odoo import fields, models


class SaleOrderLine(models.Model):
    """Sale order lines remember the channel line they were imported from, so
    that a refund of that line finds its price and taxes."""

    _inherit = "sale.order.line"

    # === FIELDS ===

    channel_line_ref = fields.Char(
        string="Channel line", readonly=True, copy=False, index="btree_not_null"
    )
