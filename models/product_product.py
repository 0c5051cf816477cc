from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .product_template import CATALOGUE_FIELDS


class ProductProduct(models.Model):
    """Internal references are channel SKUs: unique within a company."""

    _inherit = "product.product"

    channel_fast_mover = fields.Boolean(
        string="Fast mover",
        help="Publish this variant's stock to channels seconds after it moves.",
    )

    def write(self, vals):
        """Override of `product` to flag the channel stock levels of variants
        archived or restored: the archived-products policy changes what they
        publish, and the next delta export must say so; and the channel
        listings of their products when published data changed."""
        result = super().write(vals)
        if "active" in vals:
            self.env["channel.stock.level"]._mark_dirty(self.ids)
        if CATALOGUE_FIELDS & set(vals):
            self.env["channel.product.listing"]._mark_templates_dirty(
                self.product_tmpl_id.ids
            )
        return result

    @api.constrains("default_code", "company_id", "active")
    def _check_default_code_unique_per_company(self):
        """Two active variants sharing a SKU would make order lines ambiguous.

        A shared product (no company) clashes with every company's products.
        Archived variants are left out, so restoring one is checked too
        (`active` is a trigger). Record rules and the companies the user
        works in must not hide a clash: Odoo 19 runs constraints sudo'ed, and
        the explicit sudo keeps it so for a direct call; the message names
        the clashing product only to a user who may read it.
        """
        products_sudo = self.sudo().with_context(active_test=True)
        for product in self.filtered(lambda p: p.default_code and p.active):
            company_domain = (
                [("company_id", "in", (product.company_id.id, False))]
                if product.company_id
                else []
            )
            clash = products_sudo.search(
                [
                    ("id", "!=", product.id),
                    ("default_code", "=", product.default_code),
                    *company_domain,
                ],
                limit=1,
            )
            if clash:
                raise ValidationError(self._sku_clash_message(product, clash))

    def _sku_clash_message(self, product, clash_sudo):
        """Name the clashing product only to a user who may read it."""
        if clash_sudo.with_user(self.env.uid).has_access("read"):
            owner = clash_sudo.display_name
        else:
            owner = self.env._(
                "a product of %(company)s", company=clash_sudo.company_id.name
            )
        return self.env._(
            "Internal reference %(code)s is already used by %(product)s: "
            "channel SKUs must be unique within a company.",
            code=product.default_code,
            product=owner,
        )
