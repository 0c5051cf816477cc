from odoo import models


class ProductAttributeValue(models.Model):
    """An option value renamed: every product using it publishes the new name."""

    _inherit = "product.attribute.value"

    def write(self, vals):
        """Override of `product` to flag the listings of the products using
        these values (their option names are published)."""
        result = super().write(vals)
        if {"name", "sequence"} & set(vals):
            values = (
                self.env["product.template.attribute.value"]
                .sudo()
                .search([("product_attribute_value_id", "in", self.ids)])
            )
            self.env["channel.product.listing"]._mark_templates_dirty(
                values.product_tmpl_id.ids
            )
        return result
