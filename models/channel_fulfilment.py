import hashlib

from odoo import api, fields, models
from odoo.tools import float_compare, float_round

from odoo.addons.queue_job.exception import RetryableJobError

from ..adapters.exceptions import ChannelError
from ..adapters.records import FulfilmentLine, FulfilmentRequest
from ..adapters.redaction import get_logger
from ..const import JOB_MAX_RETRIES
from ..sql import queries

_logger = get_logger(__name__)

STATES = [
    ("pending", "To report"),
    ("done", "Reported"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
]


class ChannelFulfilment(models.Model):
    """One validated delivery of a channel order, reported as shipped on the
    channel: one record per picking (unique), so a replayed job or a second
    validation never makes a second channel fulfilment."""

    _name = "channel.fulfilment"
    _description = "Channel Fulfilment"
    _order = "id desc"
    _rec_name = "picking_id"

    # === FIELDS ===

    backend_id = fields.Many2one(
        "channel.backend", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True
    )
    order_binding_id = fields.Many2one(
        "channel.order.binding",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    picking_id = fields.Many2one(
        "stock.picking", required=True, ondelete="cascade", readonly=True
    )
    state = fields.Selection(STATES, required=True, default="pending", readonly=True)
    external_ref = fields.Char(
        string="Channel fulfilment",
        readonly=True,
        help="The channel's fulfilment id(s); empty when the channel had "
        "fulfilled these lines already.",
    )
    tracking_ref = fields.Char(string="Tracking number", readonly=True)
    carrier_name = fields.Char(string="Carrier", readonly=True)
    notify_customer = fields.Boolean(string="Buyer notified", readonly=True)
    pushed_at = fields.Datetime(string="Reported on", readonly=True)
    error = fields.Char(readonly=True)
    cancel_requested = fields.Boolean(
        string="To cancel",
        readonly=True,
        help="The delivery came back whole: its channel fulfilment is to cancel.",
    )

    _picking_unique = models.UniqueIndex(
        "(picking_id)", "This delivery is already reported to its channel."
    )

    # === BUSINESS METHODS ===

    @api.model
    def _enqueue_for_pickings(self, pickings):
        """Record and enqueue the report of each delivery that ends at the
        customer of a channel order whose backend reports shipments."""
        for picking in pickings:
            binding = picking._get_channel_order_binding()
            if not binding or not picking._is_channel_final_delivery():
                continue
            backend = binding.backend_id
            if not backend._reports_fulfilments():
                continue
            fulfilment = self.search([("picking_id", "=", picking.id)])
            if not fulfilment:
                fulfilment = self.create(
                    {
                        "backend_id": backend.id,
                        "company_id": binding.company_id.id,
                        "order_binding_id": binding.id,
                        "picking_id": picking.id,
                    }
                )
            if fulfilment.state not in ("done", "cancelled"):
                fulfilment._enqueue_push()

    def _enqueue_push(self):
        self.ensure_one()
        return self.with_delay(
            max_retries=JOB_MAX_RETRIES,
            priority=5,
            identity_key=self.backend_id._identity_key(
                "fulfilment", self.picking_id.id
            ),
        )._job_push()

    def _get_request(self):
        """The `FulfilmentRequest` of this delivery: its done quantities per
        channel order line, in the sale line's unit, and its tracking."""
        picking = self.picking_id
        quantities = {}
        done = picking.move_ids.filtered(
            lambda m: m.state == "done" and m.sale_line_id.channel_line_ref
        )
        for line in done.sale_line_id:
            quantities[line.channel_line_ref] = quantities.get(
                line.channel_line_ref, 0
            ) + self._shipped_by(line, picking)
        tracking = picking._get_channel_tracking(self.backend_id)
        return FulfilmentRequest(
            order_ref=self.order_binding_id.external_ref,
            lines=tuple(
                FulfilmentLine(ref, qty) for ref, qty in quantities.items() if qty > 0
            ),
            tracking_number=tracking["number"],
            tracking_company=tracking["company"],
            tracking_url=tracking["url"],
            notify_customer=self.backend_id.fulfilment_notify_customer,
            location_ref=self._get_location_ref(),
            shipment_ref=str(picking.id),
            order_fully_shipped=self._is_order_fully_shipped(),
        )

    @api.model
    def _shipped_by(self, line, picking):
        """Whole channel units of `line` that `picking` ships: what the
        line's deliveries up to it complete, less what those before it did,
        so that fractions (6 units of a line sold by the dozen, half a kit)
        are reported by the delivery that completes them, once."""
        delivered = line.move_ids.filtered(
            lambda m: (
                m.state == "done"
                and m.location_dest_id.usage == "customer"
                and not m.origin_returned_move_id
            )
        )
        rank = (picking.date_done, picking.id)
        earlier = delivered.filtered(
            lambda m: (m.picking_id.date_done, m.picking_id.id) < rank
        )
        upto = earlier | delivered.filtered(lambda m: m.picking_id == picking)
        return _whole(self._line_quantity(line, upto)) - _whole(
            self._line_quantity(line, earlier)
        )

    @api.model
    def _line_quantity(self, line, moves):
        """The quantity of sale `line`, in its unit, that done `moves` carry
        (fractional). Moves of the line's product are converted and summed;
        moves of other products are a kit's components (`mrp`, not a
        dependency), counted in kits, each component at the share of the
        line planned for it across all the line's deliveries.
        """
        if moves.product_id == line.product_id:
            return sum(
                m.product_uom._compute_quantity(m.quantity, line.product_uom_id)
                for m in moves
            )
        planned = line.move_ids.filtered(
            lambda m: (
                m.state != "cancel"
                and m.location_dest_id.usage == "customer"
                and not m.origin_returned_move_id
            )
        )
        kits = None
        for product in planned.product_id:
            per_kit = (
                _in_product_uom(planned, product) / line.product_uom_qty
                if line.product_uom_qty
                else 0
            )
            if not per_kit:
                continue
            shipped = _in_product_uom(moves, product, "quantity") / per_kit
            kits = shipped if kits is None else min(kits, shipped)
        return kits or 0

    def _is_order_fully_shipped(self):
        """Whether every channel line of the order is delivered now."""
        lines = self.picking_id.sale_id.order_line.filtered("channel_line_ref")
        return bool(lines) and all(
            float_compare(
                line.qty_delivered,
                line.product_uom_qty,
                precision_rounding=line.product_uom_id.rounding,
            )
            >= 0
            for line in lines
        )

    def _get_location_ref(self):
        """The channel location mapped to the warehouse the delivery ships
        from (its stock location or a parent of it), None when unmapped."""
        picking = self.picking_id
        shipped_from = (
            picking.picking_type_id.warehouse_id.lot_stock_id | picking.location_id
        )
        mappings = self.env["channel.stock.location"].search(
            [("backend_id", "=", self.backend_id.id), ("location_ids", "!=", False)]
        )
        for mapping in mappings:
            for mapped in mapping.location_ids:
                if any(
                    (loc.parent_path or "").startswith(mapped.parent_path)
                    for loc in shipped_from
                ):
                    return mapping.location_ref
        return None

    def _push(self):
        """Bring the channel in line with the delivery: report it, update
        its tracking, or cancel its fulfilment; a channel refusal is a
        `fulfilment_failed` exception whose Retry runs this again.

        :return: whether the channel is in line now
        """
        self.ensure_one()
        if not self._pending_work():
            return True
        self._lock()
        work = self._pending_work()
        try:
            with self.backend_id._map_channel_errors(delay=30):
                adapter = self.backend_id._get_adapter(priority="fulfilment")
                if work == "report":
                    request = self._get_request()
                    result = adapter.push_fulfilment(request) if request.lines else None
                    self._done(result, request)
                elif work == "tracking":
                    self._update_tracking(adapter)
                else:
                    self._cancel(adapter)
        except ChannelError as exc:
            self._failed(str(exc))
            return False
        return True

    def _pending_work(self):
        """ "report", "tracking", "cancel" or None: what the channel lacks."""
        if self.state == "cancelled":
            return None
        if self.state != "done":
            return "report"
        if self.cancel_requested:
            return "cancel" if self.external_ref else None
        tracking = self.picking_id._get_channel_tracking(self.backend_id)
        reported = (self.tracking_ref or None, self.carrier_name or None)
        if self.external_ref and (tracking["number"], tracking["company"]) != reported:
            return "tracking"
        return None

    def _refs(self):
        return [ref for ref in (self.external_ref or "").split(",") if ref]

    def _update_tracking(self, adapter):
        request = self._get_request()
        for ref in self._refs():
            adapter.update_fulfilment_tracking(ref, request)
        self.write(
            {
                "tracking_ref": request.tracking_number or False,
                "carrier_name": request.tracking_company or False,
                "error": False,
            }
        )
        self.picking_id.message_post(
            body=self.env._(
                "Tracking %(number)s sent to %(backend)s.",
                number=request.tracking_number or "-",
                backend=self.backend_id.name,
            )
        )
        self.env["channel.exception"]._resolve(self.backend_id, retry_target=self)

    def _cancel(self, adapter):
        for ref in self._refs():
            adapter.cancel_fulfilment(ref)
        self.write({"state": "cancelled", "error": False})
        self.picking_id.message_post(
            body=self.env._(
                "Returned whole: its fulfilment on %s is cancelled.",
                self.backend_id.name,
            )
        )
        self.env["channel.exception"]._resolve(self.backend_id, retry_target=self)

    @api.model
    def _enqueue_tracking_updates(self, pickings):
        """Enqueue the tracking update of reported deliveries whose tracking
        changed after they were reported."""
        fulfilments = self.search(
            [("picking_id", "in", pickings.ids), ("state", "=", "done")]
        )
        for fulfilment in fulfilments:
            if fulfilment._pending_work() == "tracking":
                fulfilment._enqueue_push()

    @api.model
    def _enqueue_returns(self, returns):
        """A validated return of a reported delivery: the whole delivery back
        cancels its channel fulfilment; part of it is an exception (channels
        cancel whole fulfilments only)."""
        for picking in returns:
            origin = picking.return_id
            fulfilment = (
                self.search([("picking_id", "=", origin.id)]) if origin else self
            )
            if (
                not fulfilment
                or fulfilment.state != "done"
                or not fulfilment.external_ref
            ):
                continue
            if origin._is_returned_whole():
                fulfilment.cancel_requested = True
                fulfilment._enqueue_push()
                continue
            self.env["channel.exception"]._record(
                "fulfilment_failed",
                self.env._(
                    "Return %(return)s takes back part of delivery %(picking)s, "
                    "reported to the channel: the channel cancels whole "
                    "fulfilments only. Record the return on the channel.",
                    picking=origin.name,
                    **{"return": picking.name},
                ),
                backend=fulfilment.backend_id,
                key=f"partial_return:{picking.id}",
                documents=[origin.sale_id],
            )

    def _lock(self):
        """Serialize the reports of one delivery (a job and a Retry at once):
        the one that waited gives up, and finds the work done when retried."""
        digest = hashlib.sha256(f"fulfilment:{self.id}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        if not queries.try_lock(self.env.cr, key):
            raise RetryableJobError(
                f"Delivery {self.picking_id.id} is being reported by another worker.",
                seconds=5,
            )

    def _done(self, result, request):
        """The delivery is reported (`result` None: nothing to report)."""
        refs = ",".join(result.fulfilment_refs) if result else ""
        self.write(
            {
                "state": "done",
                "external_ref": refs or False,
                "tracking_ref": request.tracking_number or False,
                "carrier_name": request.tracking_company or False,
                "notify_customer": bool(refs) and request.notify_customer,
                "pushed_at": fields.Datetime.now(),
                "error": False,
            }
        )
        self.picking_id.message_post(
            body=self.env._("Shipment reported to %s.", self.backend_id.name)
            if refs
            else self.env._(
                "%s had fulfilled these lines already: nothing reported.",
                self.backend_id.name,
            )
        )
        self.env["channel.exception"]._resolve(self.backend_id, retry_target=self)

    def _failed(self, error):
        self.write({"state": "failed" if self.state == "pending" else self.state})
        self.error = error
        picking = self.picking_id
        self.env["channel.exception"]._record(
            "fulfilment_failed",
            self.env._(
                "Delivery %(picking)s of order %(order)s could not be reported "
                "as shipped on the channel: %(error)s",
                picking=picking.name,
                order=self.order_binding_id.channel_name,
                error=error,
            ),
            backend=self.backend_id,
            detail=error,
            documents=[picking.sale_id],
            retry_target=self,
        )

    def _channel_retry(self):
        """Retry hook of `channel.exception`: do again what failed."""
        self.ensure_one()
        return self._push()

    # === JOBS ===

    def _job_push(self):
        """Job: report one validated delivery as shipped on its channel, or
        update its tracking, or cancel it once returned; as the system (the
        validating user may not read the backend)."""
        self.ensure_one()
        fulfilment_sudo = self.sudo()
        backend_sudo = fulfilment_sudo.backend_id
        if not backend_sudo.active or backend_sudo.state == "disabled":
            return f"skipped: backend {backend_sudo.id} is archived or disabled"
        work = fulfilment_sudo._pending_work()
        if not work:
            return f"already reported: {fulfilment_sudo._describe()}"
        if not fulfilment_sudo._push():
            return f"failed: {fulfilment_sudo.error}"
        return {
            "report": "reported",
            "tracking": "tracking updated",
            "cancel": "cancelled",
        }[work] + f": {fulfilment_sudo._describe()}"

    def _describe(self):
        return self.external_ref or "fulfilled on the channel already"

    def _on_job_failed(self, exc_name=None, exc_message=None, **_values):
        """on_fail hook of the push job: an unexpected error is a
        `fulfilment_failed` exception too, with a Retry."""
        for fulfilment in self.sudo():
            fulfilment._failed(exc_message or exc_name)


def _in_product_uom(moves, product, field="product_uom_qty"):
    """Sum of `field` of the moves of `product`, in the product's unit."""
    return sum(
        m.product_uom._compute_quantity(m[field], product.uom_id)
        for m in moves.filtered(lambda m: m.product_id == product)
    )


def _whole(quantity):
    """Whole units of a quantity; rounded first so that 2.9999999 is 3."""
    return int(
        float_round(
            float_round(quantity, precision_digits=6),
            precision_digits=0,
            rounding_method="DOWN",
        )
    )
