from odoo import fields, models
from odoo.exceptions import UserError


class StockPicking(models.Model):
    """Deliveries of high-risk channel orders wait for a human decision."""

    _inherit = "stock.picking"

    channel_risk_hold = fields.Boolean(
        string="Held (channel risk)",
        copy=False,
        tracking=True,
        help="The channel flagged the order as high risk: release before shipping.",
    )

    def button_validate(self):
        """Override of `stock` to refuse validating a held delivery."""
        held = self.filtered("channel_risk_hold")
        if held:
            raise UserError(
                self.env._(
                    "%(names)s belong to high-risk channel orders. Check the order, "
                    "then release the hold before validating.",
                    names=", ".join(held.mapped("name")),
                )
            )
        return super().button_validate()

    def action_channel_release_hold(self):
        self.write({"channel_risk_hold": False})
        for picking in self:
            picking.message_post(
                body=self.env._("Risk hold released by %s.", self.env.user.name)
            )
