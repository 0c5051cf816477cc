from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from ..const import DONE, FAILED, IGNORED


class ChannelHandoffShipment(models.Model):
    """One shipment a warehouse partner confirmed: applied once (unique per
    backend and partner id), whichever way it came (webhook or pull)."""

    _name = "channel.handoff.shipment"
    _description = "Warehouse Partner Shipment"
    _order = "id desc"
    _rec_name = "external_ref"

    # === FIELDS ===

    backend_id = fields.Many2one(
        "channel.backend", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True
    )
    request_id = fields.Many2one(
        "channel.handoff.request",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    picking_id = fields.Many2one(
        "stock.picking",
        string="Validated delivery",
        index=True,
        ondelete="set null",
        readonly=True,
    )
    external_ref = fields.Char(string="Shipment", required=True, readonly=True)
    tracking_ref = fields.Char(string="Tracking number", readonly=True)
    carrier_name = fields.Char(string="Carrier", readonly=True)
    shipped_at = fields.Datetime(string="Shipped on", readonly=True)
    quantity = fields.Integer(string="Units shipped", readonly=True)

    _ref_unique = models.UniqueIndex("(backend_id, external_ref)")

    # === BUSINESS METHODS ===

    @api.model
    def _apply_confirmation(self, backend, confirmation, event):
        """Validate the request's open delivery with the shipped quantities
        (a backorder for the rest); the validation then reports the shipment
        to the sales channel.

        :return: DONE, IGNORED (applied already) or FAILED (an exception
            says why; nothing was changed)
        """
        existing = self.search(
            [
                ("backend_id", "=", backend.id),
                ("external_ref", "=", confirmation.shipment_ref),
            ]
        )
        if existing:
            return IGNORED
        request = self.env["channel.handoff.request"].search(
            [
                ("backend_id", "=", backend.id),
                ("request_ref", "=", confirmation.request_ref),
            ]
        )
        if not request:
            raise UserError(
                self.env._(
                    "The partner confirmed shipment %(shipment)s of request "
                    "%(request)s, which was not sent to it.",
                    shipment=confirmation.shipment_ref,
                    request=confirmation.request_ref,
                )
            )
        picking = request._get_open_picking()
        problem = self._check_shippable(picking, confirmation)
        if problem:
            self._report(backend, request, confirmation, problem, event)
            return FAILED
        self.create(
            {
                "backend_id": backend.id,
                "company_id": request.company_id.id,
                "request_id": request.id,
                "picking_id": picking.id,
                "external_ref": confirmation.shipment_ref,
                "tracking_ref": confirmation.tracking_number,
                "carrier_name": confirmation.carrier,
                "shipped_at": _naive(confirmation.shipped_at),
                "quantity": sum(line.quantity for line in confirmation.lines),
            }
        )
        self._validate(picking, confirmation)
        if not request._get_open_picking():
            request.state = "done"
        return DONE

    @api.model
    def _check_shippable(self, picking, confirmation):
        """Why the delivery cannot be validated with these quantities (a
        sentence), or None: an unknown SKU, more than is left to ship, or
        more than the source location holds (never a negative quant)."""
        if not picking:
            return self.env._("every delivery of the request is closed already")
        moves = picking.move_ids.filtered(lambda m: m.state not in ("done", "cancel"))
        for line in confirmation.lines:
            product_moves = moves.filtered(
                lambda m, sku=line.sku: m.product_id.default_code == sku
            )
            if not product_moves:
                return self.env._("%s is not on the delivery", line.sku)
            product = product_moves.product_id
            rounding = product.uom_id.rounding
            left = sum(
                m.product_uom._compute_quantity(m.product_uom_qty, product.uom_id)
                for m in product_moves
            )
            if float_compare(line.quantity, left, precision_rounding=rounding) > 0:
                return self.env._(
                    "%(quantity)s x %(sku)s shipped, %(left)s left to ship",
                    quantity=line.quantity,
                    sku=line.sku,
                    left=left,
                )
            held = self.env["stock.quant"]._get_available_quantity(
                product, picking.location_id
            ) + sum(product_moves.mapped("quantity"))
            if float_compare(line.quantity, held, precision_rounding=rounding) > 0:
                return self.env._(
                    "%(quantity)s x %(sku)s shipped, but Odoo holds %(held)s at "
                    "%(location)s",
                    quantity=line.quantity,
                    sku=line.sku,
                    held=held,
                    location=picking.location_id.display_name,
                )
        return None

    @api.model
    def _validate(self, picking, confirmation):
        """Set the shipped quantities, validate, keep the rest as a backorder."""
        shipped = {line.sku: line.quantity for line in confirmation.lines}
        if confirmation.tracking_number:
            picking.carrier_tracking_ref = confirmation.tracking_number
        for move in picking.move_ids.filtered(
            lambda m: m.state not in ("done", "cancel")
        ):
            product = move.product_id
            left = shipped.get(product.default_code, 0)
            wanted = product.uom_id._compute_quantity(left, move.product_uom)
            quantity = min(wanted, move.product_uom_qty)
            move.quantity = quantity
            move.picked = True
            shipped[product.default_code] = left - move.product_uom._compute_quantity(
                quantity, product.uom_id
            )
        result = picking.with_context(skip_backorder=True).button_validate()
        if picking.state != "done":
            raise UserError(
                self.env._(
                    "Delivery %(picking)s could not be validated: %(result)s",
                    picking=picking.name,
                    result=result,
                )
            )
        if confirmation.shipped_at:
            picking.date_done = _naive(confirmation.shipped_at)

    @api.model
    def _report(self, backend, request, confirmation, problem, event):
        self.env["channel.exception"]._record(
            "fulfilment_failed",
            self.env._(
                "Shipment %(shipment)s of %(picking)s was not applied: %(problem)s.",
                shipment=confirmation.shipment_ref,
                picking=request.picking_id.name,
                problem=problem,
            ),
            backend=backend,
            key=f"handoff_shipment:{confirmation.shipment_ref}",
            documents=[request.picking_id.sale_id],
            retry_target=event,
        )


def _naive(moment):
    """Odoo stores naive UTC datetimes."""
    return moment.replace(tzinfo=None) if moment else False
