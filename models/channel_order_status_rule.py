from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..adapters.orders import IMPORT_ACTIONS

ACTION_LABELS = {
    "wait": "Wait (do not import yet)",
    "quotation": "Import as quotation",
    "confirm": "Import and confirm",
    "cancel": "Cancel (do not import)",
}


class ChannelOrderStatusRule(models.Model):
    """A backend's exception to the default status table (README, "Order
    import"): orders in these channel statuses get this import action.

    A rule names a financial status, a fulfilment status, or both; an empty
    one matches any. Rules are tried by sequence and the first match wins;
    no match: the default table. A cancelled order is always cancelled.
    """

    _name = "channel.order.status.rule"
    _description = "Channel Order Status Rule"
    _order = "backend_id, sequence, id"
    _rec_name = "action"

    # === FIELDS ===

    sequence = fields.Integer(default=10)
    backend_id = fields.Many2one(
        "channel.backend", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    financial_status = fields.Char(
        help="The channel's payment status as the channel names it, e.g. paid, "
        "authorized, pending, processing, on-hold (see the README's status "
        "table). Empty: any.",
    )
    fulfillment_status = fields.Char(
        string="Fulfilment status",
        help="The channel's fulfilment status, e.g. unfulfilled, "
        "partially_fulfilled, fulfilled (the channel's words). Empty: any.",
    )
    action = fields.Selection(
        [(action, ACTION_LABELS[action]) for action in IMPORT_ACTIONS],
        required=True,
        default="quotation",
    )

    # === CONSTRAINT METHODS ===

    # `action` always has a value: the check also runs on a create without status.
    @api.constrains("financial_status", "fulfillment_status", "action")
    def _check_some_status(self):
        for rule in self:
            if not (rule.financial_status or rule.fulfillment_status):
                raise ValidationError(
                    self.env._("A status rule needs a financial or fulfilment status.")
                )

    # === BUSINESS METHODS ===

    def _matches(self, order):
        self.ensure_one()
        return _same_status(self.financial_status, order.financial_status) and (
            _same_status(self.fulfillment_status, order.fulfillment_status)
        )


def _same_status(wanted, actual):
    """An empty rule status matches anything; otherwise case-insensitive."""
    if not wanted:
        return True
    return wanted.strip().lower() == (actual or "").strip().lower()
