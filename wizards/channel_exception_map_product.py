from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError


class ChannelExceptionMapProduct(models.TransientModel):
    """Fix an unknown SKU from the exception itself, then retry the order.

    Either the product's internal reference becomes the channel SKU, or the
    channel variant is bound to the product and its reference is left alone
    (when the channel's SKU is the one that is wrong).
    """

    _name = "channel.exception.map.product"
    _description = "Map a Channel SKU to a Product"

    exception_id = fields.Many2one("channel.exception", required=True)
    sku = fields.Char(related="exception_id.channel_sku")
    variant_ref = fields.Char(related="exception_id.channel_variant_ref")
    exception_company_id = fields.Many2one(related="exception_id.company_id")
    product_id = fields.Many2one(
        "product.product",
        required=True,
        domain="[('company_id', 'in', [exception_company_id, False])]",
    )
    mode = fields.Selection(
        [
            ("reference", "Set the product's internal reference to the SKU"),
            ("bind", "Bind the channel variant to the product"),
        ],
        default="reference",
        required=True,
    )

    @api.onchange("exception_id")
    def _onchange_exception_id(self):
        if not self.exception_id.channel_variant_ref:
            self.mode = "reference"

    def action_map_and_retry(self):
        """Apply the mapping (audited on the exception), then retry.

        The product must be of the exception's company (or shared) and the
        user allowed to change it: its reference is written as the user.
        """
        self.ensure_one()
        exception = self.exception_id
        exception.check_access("write")
        if self.mode == "bind" and not self.variant_ref:
            raise UserError(self.env._("The channel sent no variant id to bind."))
        product = self._check_product()
        if self.mode == "reference":
            product.default_code = self.sku
        else:
            self.env["channel.product.binding"].sudo().create(
                {
                    "backend_id": exception.backend_id.id,
                    "company_id": exception.company_id.id,
                    "external_ref": self.variant_ref,
                    "product_id": product.id,
                    "sku": self.sku,
                }
            )
        exception.message_post(
            body=self.env._(
                "%(user)s mapped SKU %(sku)s to %(product)s.",
                user=self.env.user.name,
                sku=self.sku,
                product=product.display_name,
            )
        )
        exception.sudo().product_id = product
        exception.action_retry()
        return {"type": "ir.actions.act_window_close"}

    def _check_product(self):
        """The chosen product, if of the exception's company (or shared) and
        the user may change it (reference) or read it (binding)."""
        product = self.product_id.with_env(self.env)
        company = self.exception_id.company_id
        if product.sudo().company_id not in (company, company.browse()):
            raise AccessError(
                self.env._(
                    "%(product)s is not a product of %(company)s.",
                    product=product.sudo().display_name,
                    company=company.name,
                )
            )
        product.check_access("write" if self.mode == "reference" else "read")
        return product
