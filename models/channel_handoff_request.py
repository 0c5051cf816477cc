import hashlib

from odoo import api, fields, models
from odoo.tools import float_round

from odoo.addons.queue_job.exception import RetryableJobError

from ..adapters.exceptions import ChannelError
from ..adapters.handoff import CANCELLED, HandoffRequest, ShipTo, SkuQuantity
from ..adapters.redaction import get_logger
from ..const import JOB_MAX_RETRIES
from ..sql import queries

_logger = get_logger(__name__)

STATES = [
    ("pending", "To send"),
    ("sent", "Sent"),
    ("done", "Shipped"),
    ("failed", "Failed"),
    ("cancelling", "Cancel requested"),
    ("cancelled", "Cancelled"),
]
CLOSED_PICKING_STATES = ("done", "cancel")


class ChannelHandoffRequest(models.Model):
    """One delivery handed to a warehouse partner (3PL): one record per
    picking (unique), so a replayed job or a second trigger never sends a
    second request. Its backorders stay covered by the same request: the
    partner ships the rest of what it was sent."""

    _name = "channel.handoff.request"
    _description = "Warehouse Partner Request"
    _order = "id desc"
    _rec_name = "request_ref"

    # === FIELDS ===

    backend_id = fields.Many2one(
        "channel.backend", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True
    )
    picking_id = fields.Many2one(
        "stock.picking", required=True, ondelete="cascade", readonly=True
    )
    request_ref = fields.Char(
        string="Request", required=True, readonly=True, help="Our id of the request."
    )
    external_ref = fields.Char(
        string="Partner reference", readonly=True, help="The partner's id for it."
    )
    state = fields.Selection(STATES, required=True, default="pending", readonly=True)
    sent_at = fields.Datetime(string="Sent on", readonly=True)
    error = fields.Char(readonly=True)
    shipment_ids = fields.One2many(
        "channel.handoff.shipment", "request_id", string="Shipments", readonly=True
    )

    _picking_unique = models.UniqueIndex(
        "(picking_id)", "This delivery is already handed to a warehouse partner."
    )
    _ref_unique = models.UniqueIndex("(backend_id, request_ref)")

    # === BUSINESS METHODS ===

    @api.model
    def _enqueue_for_pickings(self, pickings):
        """Record and enqueue the request of each delivery a connected 3PL
        backend ships and whose state its policy sends."""
        backends = self.env["channel.backend"]._get_handoff_backends()
        if not backends:
            return self
        requests = self
        for picking in pickings:
            backend = backends.filtered(lambda b, p=picking: b._handoff_sends(p))[:1]
            if backend and not self._covering(picking):
                requests |= self._get_or_create(backend, picking)
        for request in requests.filtered(lambda r: r.state == "pending"):
            request._enqueue_send()
        return requests

    @api.model
    def _covering(self, picking):
        """The request of this picking or of the picking it is a backorder of."""
        while picking:
            request = self.search([("picking_id", "=", picking.id)])
            if request:
                return request
            picking = picking.backorder_id
        return self

    @api.model
    def _get_or_create(self, backend, picking):
        request = self.search([("picking_id", "=", picking.id)])
        return request or self.create(
            {
                "backend_id": backend.id,
                "company_id": picking.company_id.id,
                "picking_id": picking.id,
                "request_ref": picking.name,
            }
        )

    def _enqueue_send(self):
        self.ensure_one()
        return self.with_delay(
            max_retries=JOB_MAX_RETRIES,
            priority=5,
            identity_key=self.backend_id._identity_key(
                "handoff_request", self.picking_id.id
            ),
            description=f"Send {self.request_ref} to {self.backend_id.name}",
        )._job_send()

    def _get_open_picking(self):
        """The picking still to ship of this request: its own, else the
        open backorder of its chain (empty when all shipped)."""
        self.ensure_one()
        pickings = self.picking_id
        while pickings:
            open_pickings = pickings.filtered(
                lambda p: p.state not in CLOSED_PICKING_STATES
            )
            if open_pickings:
                return open_pickings[:1]
            pickings = pickings.backorder_ids
        return pickings

    def _get_message(self):
        """The `HandoffRequest` of this delivery; a product without SKU
        raises ValueError naming it."""
        picking = self.picking_id
        quantities = {}
        for move in picking.move_ids.filtered(lambda m: m.state != "cancel"):
            product = move.product_id
            if not product.default_code:
                raise ValueError(product.display_name)
            quantity = move.product_uom._compute_quantity(
                move.product_uom_qty, product.uom_id
            )
            quantities[product.default_code] = (
                quantities.get(product.default_code, 0) + quantity
            )
        partner = picking.partner_id
        return HandoffRequest(
            request_ref=self.request_ref,
            order_ref=picking.sale_id.client_order_ref
            or picking.origin
            or picking.name,
            ship_to=ShipTo(
                name=partner.name or "",
                street=partner.street or "",
                street2=partner.street2 or "",
                city=partner.city or "",
                zip=partner.zip or "",
                state=partner.state_id.code or "",
                country=partner.country_id.code or "",
                phone=partner.phone or "",
                email=partner.email or "",
            ),
            lines=tuple(
                SkuQuantity(sku, int(float_round(qty, precision_digits=0)))
                for sku, qty in quantities.items()
            ),
            carrier_service=self.backend_id._get_handoff_carrier_service(picking),
        )

    def _send(self):
        """Hand the delivery to the partner; a refusal is a
        `fulfilment_failed` exception whose Retry sends again.

        :return: whether the partner holds the request now
        """
        self.ensure_one()
        if self.state in ("sent", "done"):
            return True
        self._lock()
        backend = self.backend_id
        try:
            message = self._get_message()
        except ValueError as exc:
            self._failed(self.env._("Product %s has no internal reference (SKU).", exc))
            return False
        try:
            with backend._map_channel_errors(delay=30):
                adapter = backend._get_adapter(priority="fulfilment")
                external_ref = adapter.send_fulfilment_request(message)
        except ChannelError as exc:
            self._failed(str(exc))
            return False
        self.write(
            {
                "state": "sent",
                "external_ref": external_ref,
                "sent_at": fields.Datetime.now(),
                "error": False,
            }
        )
        self.picking_id.message_post(
            body=self.env._(
                "Sent to %(partner)s (request %(ref)s).",
                partner=backend.name,
                ref=external_ref,
            )
        )
        self.env["channel.exception"]._resolve(backend, retry_target=self)
        return True

    @api.model
    def _enqueue_cancels(self, pickings):
        """Deliveries cancelled in Odoo after their request went to the
        partner: ask it to cancel what it holds (a job per request)."""
        if not self.env["channel.backend"]._get_handoff_backends():
            return
        for picking in pickings:
            request = self._covering(picking)
            if request.state != "sent" or request._get_open_picking():
                continue
            request.state = "cancelling"
            request.with_delay(
                max_retries=JOB_MAX_RETRIES,
                priority=5,
                identity_key=request.backend_id._identity_key(
                    "handoff_cancel", request.picking_id.id
                ),
                description=f"Cancel {request.request_ref} at "
                f"{request.backend_id.name}",
            )._job_cancel()

    def _cancel(self):
        """Send the cancel request and apply the partner's answer: cancelled,
        or too late (it shipped) as an exception; a refusal is an exception
        whose Retry asks again.

        :return: whether the partner answered
        """
        self.ensure_one()
        self._lock()
        backend = self.backend_id
        try:
            with backend._map_channel_errors(delay=30):
                adapter = backend._get_adapter(priority="fulfilment")
                answer = adapter.cancel_fulfilment_request(self.request_ref)
        except ChannelError as exc:
            self._failed(str(exc), state="cancelling")
            return False
        if answer == CANCELLED:
            self.write({"state": "cancelled", "error": False})
            self.picking_id.message_post(
                body=self.env._(
                    "%(partner)s cancelled request %(ref)s.",
                    partner=backend.name,
                    ref=self.request_ref,
                )
            )
            self.env["channel.exception"]._resolve(backend, retry_target=self)
            return True
        self.write({"state": "sent", "error": False})
        self.env["channel.exception"]._resolve(backend, retry_target=self)
        self.env["channel.exception"]._record(
            "fulfilment_failed",
            self.env._(
                "Delivery %(picking)s was cancelled in Odoo, but %(partner)s "
                "had shipped it already: its confirmation will not apply to a "
                "cancelled delivery. Record the shipment by hand.",
                picking=self.picking_id.name,
                partner=backend.name,
            ),
            backend=backend,
            key=f"handoff_cancel_too_late:{self.request_ref}",
            documents=[self.picking_id.sale_id],
        )
        return True

    def _lock(self):
        """Serialize the sends of one request (a job and a Retry at once)."""
        digest = hashlib.sha256(f"handoff_request:{self.id}".encode()).digest()
        if not queries.try_lock(
            self.env.cr, int.from_bytes(digest[:8], "big", signed=True)
        ):
            raise RetryableJobError(
                f"Request {self.request_ref} is being sent by another worker.",
                seconds=5,
            )

    def _failed(self, error, state="failed"):
        self.write({"state": state, "error": error})
        self.env["channel.exception"]._record(
            "fulfilment_failed",
            self.env._(
                "Delivery %(picking)s could not be handed to %(partner)s: %(error)s",
                picking=self.picking_id.name,
                partner=self.backend_id.name,
                error=error,
            ),
            backend=self.backend_id,
            detail=error,
            documents=[self.picking_id.sale_id],
            retry_target=self,
        )

    def _channel_retry(self):
        """Retry hook of `channel.exception`: send the request again."""
        self.ensure_one()
        if self.state == "cancelling":
            return self._cancel()
        if self.state == "failed":
            self.state = "pending"
        return self._send()

    # === JOBS ===

    def _job_send(self):
        """Job: hand one delivery to the warehouse partner, as the system."""
        self.ensure_one()
        request_sudo = self.sudo()
        backend_sudo = request_sudo.backend_id
        if not backend_sudo.active or backend_sudo.state == "disabled":
            return f"skipped: backend {backend_sudo.id} is archived or disabled"
        if request_sudo.state in ("sent", "done"):
            return f"already sent: {request_sudo.external_ref}"
        if request_sudo.picking_id.state == "cancel":
            request_sudo.state = "cancelled"
            return "skipped: the delivery is cancelled"
        if request_sudo._send():
            return f"sent: {request_sudo.external_ref}"
        return f"failed: {request_sudo.error}"

    def _job_cancel(self):
        """Job: ask the warehouse partner to cancel a request, as the system."""
        self.ensure_one()
        request_sudo = self.sudo()
        backend_sudo = request_sudo.backend_id
        if not backend_sudo.active or backend_sudo.state == "disabled":
            return f"skipped: backend {backend_sudo.id} is archived or disabled"
        if request_sudo.state != "cancelling":
            return f"nothing to cancel: the request is {request_sudo.state}"
        if request_sudo._cancel():
            return f"answered: the request is {request_sudo.state}"
        return f"failed: {request_sudo.error}"

    def _on_job_failed(self, exc_name=None, exc_message=None, **_values):
        """on_fail hook of the send and cancel jobs: a `fulfilment_failed`
        exception."""
        for request in self.sudo():
            request._failed(
                exc_message or exc_name,
                state="cancelling" if request.state == "cancelling" else "failed",
            )
