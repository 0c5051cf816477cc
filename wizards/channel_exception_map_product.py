from odoo import api, fields, models
from odoo.exceptions import UserError


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
    product_id = fields.Many2one("product.product", required=True)
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
        """Apply the mapping as the system (audited on the exception), retry."""
        self.ensure_one()
        exception = self.exception_id
        if self.mode == "bind" and not self.variant_ref:
            raise UserError(self.env._("The channel sent no variant id to bind."))
        product_sudo = self.product_id.sudo()
        if self.mode == "reference":
            product_sudo.default_code = self.sku
        else:
            self.env["channel.product.binding"].sudo().create(
                {
                    "backend_id": exception.backend_id.id,
                    "company_id": exception.company_id.id,
                    "external_ref": self.variant_ref,
                    "product_id": product_sudo.id,
                    "sku": self.sku,
                }
            )
        exception.message_post(
            body=self.env._(
                "%(user)s mapped SKU %(sku)s to %(product)s.",
                user=self.env.user.name,
                sku=self.sku,
                product=product_sudo.display_name,
            )
        )
        exception.product_id = product_sudo
        exception.action_retry()
        return {"type": "ir.actions.act_window_close"}
