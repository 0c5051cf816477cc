from odoo import models


class ProductTemplateAttributeValue(models.Model):
    """A variant's extra price or an option value's activity changed: the
    product's channel listings are flagged for the next publishing job."""

    _inherit = "product.template.attribute.value"

    def write(self, vals):
        """Override of `product` to flag the listings of these products."""
        result = super().write(vals)
        if {"price_extra", "ptav_active", "sequence"} & set(vals):
            self.env["channel.product.listing"]._mark_templates_dirty(
                self.product_tmpl_id.ids
            )
        return result
