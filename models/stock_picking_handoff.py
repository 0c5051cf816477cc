from odoo import fields, models

from .channel_handoff_request import STATES


class StockPicking(models.Model):
    """A delivery handed to a warehouse partner: its request, and the
    carrier the partner confirmed."""

    _inherit = "stock.picking"

    # === FIELDS ===

    handoff_request_id = fields.Many2one(
        "channel.handoff.request",
        string="Warehouse partner request",
        compute="_compute_handoff_request_id",
        groups="channel_connector.group_channel_user",
        help="The request that handed this delivery (or the one it is a "
        "backorder of) to a warehouse partner.",
    )
    handoff_state = fields.Selection(
        selection=STATES,
        string="Warehouse partner status",
        compute="_compute_handoff_request_id",
        groups="channel_connector.group_channel_user",
    )

    # === COMPUTE METHODS ===

    def _compute_handoff_request_id(self):
        Request = self.env["channel.handoff.request"].sudo()
        for picking in self:
            request = Request._covering(picking)
            picking.handoff_request_id = request
            picking.handoff_state = request.state

    # === ACTION METHODS ===

    def action_cancel(self):
        """Override of `stock`: a delivery cancelled after it was handed to
        a warehouse partner asks the partner to cancel it."""
        result = super().action_cancel()
        cancelled = self.filtered(
            lambda p: p.state == "cancel" and p.picking_type_code == "outgoing"
        )
        if cancelled:
            self.env["channel.handoff.request"].sudo()._enqueue_cancels(cancelled)
        return result

    # === BUSINESS METHODS ===

    def _get_channel_tracking(self, backend=None):
        """Override of `channel_connector`: the carrier a warehouse partner
        confirmed, when the delivery names none (mapped like any carrier)."""
        tracking = super()._get_channel_tracking(backend)
        if tracking["company"]:
            return tracking
        shipment = (
            self.env["channel.handoff.shipment"]
            .sudo()
            .search([("picking_id", "=", self.id)], limit=1)
        )
        tracking = {**tracking, "company": shipment.carrier_name or None}
        return self.env["channel.carrier.mapping"].sudo()._apply(backend, tracking)
