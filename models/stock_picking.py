from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import float_compare

RISK_HOLD_GROUP = "channel_connector.group_channel_manager"
# Fields whose change after a delivery was reported updates its tracking.
TRACKING_FIELDS = frozenset({"carrier_tracking_ref", "carrier_id"})


def check_risk_hold_rights(env):
    """Only channel managers (or the connector's own code) set or release
    the risk hold of an order or a delivery."""
    if not env.su and not env.user.has_group(RISK_HOLD_GROUP):
        raise AccessError(
            env._("Only a channel manager may hold or release a high-risk order.")
        )


class StockPicking(models.Model):
    """Deliveries of high-risk channel orders wait for a human decision; a
    validated delivery of a channel order is reported as shipped."""

    _inherit = "stock.picking"

    # === FIELDS ===

    channel_risk_hold = fields.Boolean(
        string="Held (channel risk)",
        copy=False,
        tracking=True,
        help="The channel flagged the order as high risk: release before shipping.",
    )
    # The field of `stock_delivery` (not a dependency), declared alike so that
    # both modules share one column: the tracking number sent to the channel.
    carrier_tracking_ref = fields.Char(string="Tracking Reference", copy=False)
    is_channel_order = fields.Boolean(compute="_compute_channel_fulfilment")
    channel_fulfilment_ids = fields.One2many(
        "channel.fulfilment", "picking_id", string="Channel fulfilments", readonly=True
    )
    channel_fulfilment_state = fields.Selection(
        related="channel_fulfilment_ids.state", string="Channel fulfilment"
    )
    channel_fulfilment_ref = fields.Char(
        related="channel_fulfilment_ids.external_ref", string="Channel fulfilment id"
    )
    channel_fulfilment_error = fields.Char(
        related="channel_fulfilment_ids.error", string="Channel fulfilment error"
    )

    # === COMPUTE METHODS ===

    @api.depends("sale_id")
    def _compute_channel_fulfilment(self):
        for picking in self:
            picking.is_channel_order = bool(picking._get_channel_order_binding())

    # === CRUD METHODS ===

    def write(self, vals):
        """The risk hold is changed by a channel manager or the connector only;
        tracking changed on a reported delivery is sent to its channel."""
        if "channel_risk_hold" in vals:
            check_risk_hold_rights(self.env)
        result = super().write(vals)
        if TRACKING_FIELDS & set(vals):
            done = self.filtered(lambda picking: picking.state == "done")
            if done:
                self.env["channel.fulfilment"].sudo()._enqueue_tracking_updates(done)
        return result

    # === ACTION METHODS ===

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

    def _action_done(self):
        """Override of `stock` to report each delivery that reached the
        customer of a channel order as shipped (a job per delivery)."""
        result = super()._action_done()
        done = self.filtered(lambda picking: picking.state == "done")
        fulfilments_sudo = self.env["channel.fulfilment"].sudo()
        fulfilments_sudo._enqueue_for_pickings(done)
        fulfilments_sudo._enqueue_returns(done.filtered("return_id"))
        return result

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

    # === BUSINESS METHODS ===

    def _get_channel_order_binding(self):
        """The channel order this delivery ships, if any (read as the system:
        a stock user may not read bindings)."""
        self.ensure_one()
        if not self.sale_id:
            return self.env["channel.order.binding"]
        return (
            self.env["channel.order.binding"]
            .sudo()
            .search([("sale_order_id", "=", self.sale_id.id)], limit=1)
        )

    def _is_channel_final_delivery(self):
        """Whether this is the step that hands the goods to the customer: not
        a pick or pack step, a return or an internal move, nor a held one."""
        self.ensure_one()
        return (
            self.picking_type_code == "outgoing"
            and self.location_dest_id.usage == "customer"
            and not self.channel_risk_hold
        )

    def _is_returned_whole(self):
        """Whether the done returns of this delivery take back every unit."""
        self.ensure_one()
        returned = {}
        for move in self.return_ids.move_ids.filtered(lambda m: m.state == "done"):
            qty = move.product_uom._compute_quantity(
                move.quantity, move.product_id.uom_id
            )
            returned[move.product_id] = returned.get(move.product_id, 0) + qty
        shipped = {}
        for move in self.move_ids.filtered(lambda m: m.state == "done"):
            qty = move.product_uom._compute_quantity(
                move.quantity, move.product_id.uom_id
            )
            shipped[move.product_id] = shipped.get(move.product_id, 0) + qty
        return all(
            float_compare(
                returned.get(product, 0),
                qty,
                precision_rounding=product.uom_id.rounding,
            )
            >= 0
            for product, qty in shipped.items()
        )

    def _get_channel_tracking(self, backend=None):
        """{"number", "company", "url"} of the shipment (None when unknown);
        the carrier comes from `stock_delivery` when it is installed, named
        and linked as `backend`'s carrier mapping says."""
        self.ensure_one()
        carrier = self["carrier_id"] if "carrier_id" in self._fields else None
        url = (
            self["carrier_tracking_url"]
            if "carrier_tracking_url" in self._fields
            else None
        )
        tracking = {
            "number": self.carrier_tracking_ref or None,
            "company": (carrier and carrier.name) or None,
            "url": url or None,
        }
        return self.env["channel.carrier.mapping"].sudo()._apply(backend, tracking)
