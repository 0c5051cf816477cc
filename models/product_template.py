from odoo import models

# Changing these changes whether (or what) the variants publish to channels.
STOCK_PUBLISHING_FIELDS = frozenset({"active", "sale_ok"})


class ProductTemplate(models.Model):
    """Channel stock levels follow whether a product can be sold."""

    _inherit = "product.template"

    def write(self, vals):
        """Override of `product` to flag the channel stock levels of products
        archived, restored or made (un)sellable: the next delta export applies
        the archived-or-unsellable policy instead of waiting for the night."""
        result = super().write(vals)
        if STOCK_PUBLISHING_FIELDS & set(vals):
            variants = self.with_context(active_test=False).product_variant_ids
            self.env["channel.stock.level"]._mark_dirty(variants.ids)
        return result
