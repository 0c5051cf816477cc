from odoo import fields, models
from odoo.exceptions import AccessError, UserError

RISK_HOLD_GROUP = "channel_connector.group_channel_manager"


def check_risk_hold_rights(env):
    """Only channel managers (or the connector's own code) set or release
    the risk hold of an order or a delivery."""
    if not env.su and not env.user.has_group(RISK_HOLD_GROUP):
        raise AccessError(
            env._("Only a channel manager may hold or release a high-risk order.")
        )


class StockPicking(models.Model):
    """Deliveries of high-risk channel orders wait for a human decision."""

    _inherit = "stock.picking"

    channel_risk_hold = fields.Boolean(
        string="Held (channel risk)",
        copy=False,
        tracking=True,
        help="The channel flagged the order as high risk: release before shipping.",
    )

    def write(self, vals):
        """The risk hold is changed by a channel manager or the connector only."""
        if "channel_risk_hold" in vals:
            check_risk_hold_rights(self.env)
        return super().write(vals)

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
        """Release held deliveries: channel managers only, on pickings they read."""
        check_risk_hold_rights(self.env)
        self.check_access("read")
        pickings_sudo = self.sudo()
        pickings_sudo.write({"channel_risk_hold": False})
        for picking in pickings_sudo:
            picking.message_post(
                body=self.env._("Risk hold released by %s.", self.env.user.name)
            )
