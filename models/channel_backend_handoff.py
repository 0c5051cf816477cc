import base64
import json
from datetime import UTC, timedelta

from odoo import api, fields, models, tools
from odoo.exceptions import UserError
from odoo.tools import float_compare

from ..adapters.handoff import FLOW_HANDOFF, TOPIC_SHIPMENT
from ..const import DONE, JOB_MAX_RETRIES

# A reconciliation reads the shipments since the oldest open request was
# sent, this much earlier (the partner's clock may be behind ours).
PULL_MARGIN = timedelta(hours=1)


class ChannelBackend(models.Model):
    """Hand-off to a warehouse partner (3PL): Odoo hands it the deliveries of
    a warehouse and takes its shipment confirmations and stock snapshots back.
    A provider whose adapter does this switches `supports_fulfilment_handoff` on."""

    _inherit = "channel.backend"

    # === FIELDS ===

    supports_fulfilment_handoff = fields.Boolean(
        compute="_compute_capabilities",
        help="Deliveries of a warehouse are handed to this partner, which "
        "confirms what it shipped.",
    )
    handoff_picking_type_id = fields.Many2one(
        "stock.picking.type",
        string="Operation type handed over",
        check_company=True,
        domain="[('code', '=', 'outgoing')]",
        help="Deliveries of this type go to the partner; empty: the delivery "
        "type of the backend's warehouse.",
    )
    handoff_send_policy = fields.Selection(
        [("confirmed", "On confirmation"), ("assigned", "When reserved")],
        string="Send deliveries",
        default="assigned",
        required=True,
        help="When a delivery is handed to the partner: as soon as it is "
        "confirmed, or once its goods are reserved.",
    )
    handoff_carrier_service = fields.Char(
        string="Carrier service",
        help="Service asked of the partner when the delivery names no carrier.",
    )
    handoff_supports_pull = fields.Boolean(
        string="Partner lists its shipments",
        help="The partner answers GET <URL>/shipments?since=...: a scheduled "
        "reconciliation reads confirmations a lost webhook did not bring.",
    )

    # === COMPUTE METHODS ===

    def _compute_capabilities(self):
        """Override of `channel_connector`: no hand-off unless a provider says so."""
        self.supports_fulfilment_handoff = False
        super()._compute_capabilities()

    # === ACTION METHODS ===

    def action_handoff_send_ready(self):
        """Hand every ready delivery of the warehouse to the partner now."""
        self.ensure_one()
        self._check_handoff()
        picking_type = self._get_handoff_picking_type()
        pickings = self.env["stock.picking"].search(
            [
                ("picking_type_id", "=", picking_type.id),
                ("state", "in", ("confirmed", "waiting", "assigned")),
            ]
        )
        self.env["channel.handoff.request"].sudo()._enqueue_for_pickings(pickings)
        return True

    def action_handoff_pull_shipments(self):
        """Enqueue the reconciliation pull of the partner's confirmations."""
        self.ensure_one()
        self._check_handoff()
        self._enqueue_handoff_pull()
        return True

    def _check_handoff(self):
        self._check_manager_rights()
        if not self.supports_fulfilment_handoff:
            raise UserError(self.env._("%s is not a warehouse partner.", self.name))

    # === BUSINESS METHODS ===

    @api.model
    def _get_handoff_backends(self):
        """The connected backends that take deliveries (a handful at most);
        none costs no query: every stock move confirmed or reserved asks."""
        return self.browse(self._get_handoff_backend_ids())

    @api.model
    @tools.ormcache()
    def _get_handoff_backend_ids(self):
        """Ids of the connected warehouse partners, cached per worker.

        Creating, deleting or writing the state, provider, company or
        `active` of a backend clears Odoo's caches in every worker
        (`_clear_webhook_receivers`), which drops this one too.
        """
        backends = self.sudo().search([("state", "=", "connected")])
        return tuple(backends.filtered("supports_fulfilment_handoff").ids)

    def _get_handoff_picking_type(self):
        """The operation type whose deliveries this partner ships."""
        self.ensure_one()
        return self.handoff_picking_type_id or self.warehouse_id.out_type_id

    def _handoff_sends(self, picking):
        """Whether this partner ships `picking` now, per the send policy."""
        self.ensure_one()
        picking_type = self._get_handoff_picking_type()
        states = ("assigned",)
        if self.handoff_send_policy == "confirmed":
            states = ("confirmed", "waiting", "assigned")
        return bool(
            picking_type
            and picking.picking_type_id == picking_type
            and picking.state in states
            and not picking.channel_risk_hold
        )

    def _get_handoff_carrier_service(self, picking):
        """The carrier service asked: the delivery's carrier when
        `stock_delivery` is installed, else the backend's default."""
        carrier = picking["carrier_id"] if "carrier_id" in picking._fields else None
        return (carrier and carrier.name) or self.handoff_carrier_service or None

    def _get_handoff_location(self):
        """The internal location the partner's stock is: where the handed
        deliveries take their goods from."""
        picking_type = self._get_handoff_picking_type()
        return (
            picking_type.default_location_src_id
            or picking_type.warehouse_id.lot_stock_id
            or self.warehouse_id.lot_stock_id
        )

    def _apply_handoff_stock_snapshot(self, snapshot):
        """Compare the partner's quantities with Odoo's on hand at its
        location: each product beyond the tolerance is an
        `inventory_difference`, one back in line resolves its own."""
        self.ensure_one()
        location = self._get_handoff_location()
        Product = self.env["product.product"].with_context(active_test=False)
        partner = {line.sku: line.quantity for line in snapshot.quantities}
        products = Product.search([("default_code", "in", list(partner))])
        products |= (
            self.env["stock.quant"]
            .search([("location_id", "child_of", location.id)])
            .product_id.filtered("default_code")
        )
        known = set(products.mapped("default_code"))
        unknown = sorted(set(partner) - known)
        if unknown:
            self._report_handoff_unknown_skus(unknown)
        for product in products.with_context(location=location.id):
            self._compare_handoff_quantity(
                product,
                location,
                product.qty_available,
                partner.get(product.default_code, 0),
            )
        return DONE

    def _compare_handoff_quantity(self, product, location, on_hand, partner_qty):
        key = f"handoff-stock:{product.id}:{location.id}"
        Exception_ = self.env["channel.exception"]
        difference = partner_qty - on_hand
        if (
            float_compare(
                abs(difference),
                self.stock_difference_tolerance,
                precision_rounding=product.uom_id.rounding,
            )
            <= 0
        ):
            Exception_._resolve(self, exception_type="inventory_difference", key=key)
            return
        Exception_._record(
            "inventory_difference",
            self.env._(
                "%(product)s at %(location)s: Odoo has %(odoo)s on hand, the "
                "warehouse partner counts %(partner)s.",
                product=product.display_name,
                location=location.display_name,
                odoo=on_hand,
                partner=partner_qty,
            ),
            backend=self,
            key=key,
            documents=[product],
        )

    def _report_handoff_unknown_skus(self, skus):
        self.env["channel.exception"]._record(
            "missing_mapping",
            self.env._(
                "The warehouse partner reports stock of SKUs no product has: %s",
                ", ".join(skus[:20]),
            ),
            backend=self,
            key="handoff-unknown-skus",
            severity="warning",
        )

    def _pull_handoff_shipments(self):
        """Read the partner's shipments since the oldest open request was
        sent; each one not applied yet becomes an event of the inbox.

        :return: how many events were queued
        """
        self.ensure_one()
        open_requests = self.env["channel.handoff.request"].search(
            [("backend_id", "=", self.id), ("state", "=", "sent")],
            order="sent_at",
            limit=1,
        )
        if not open_requests:
            return 0
        since = open_requests.sent_at.replace(tzinfo=UTC) - PULL_MARGIN
        with self._map_channel_errors():
            shipments = self._get_adapter(priority="fulfilment").fetch_shipments_since(
                since
            )
        applied = set(
            self.env["channel.handoff.shipment"]
            .search(
                [
                    ("backend_id", "=", self.id),
                    ("external_ref", "in", [s.shipment_ref for s in shipments]),
                ]
            )
            .mapped("external_ref")
        )
        events = self.env["channel.event"]
        for shipment in shipments:
            if shipment.shipment_ref not in applied:
                events |= self._get_handoff_pull_event(shipment)
        events._enqueue()
        return len(events)

    def _get_handoff_pull_event(self, shipment):
        """The inbox event of a pulled confirmation (created once)."""
        Event = self.env["channel.event"].sudo()
        dedupe_key = f"pull:{shipment.shipment_ref}"
        event = Event.search(
            [("backend_id", "=", self.id), ("dedupe_key", "=", dedupe_key)]
        )
        if event.state == DONE:
            return Event
        body = json.dumps(shipment.to_payload()).encode()
        return event or Event.create(
            {
                "backend_id": self.id,
                "topic": TOPIC_SHIPMENT,
                "flow": FLOW_HANDOFF,
                "dedupe_key": dedupe_key,
                "resource_ref": shipment.request_ref,
                # Odoo keeps non-attachment Binary fields base64-encoded.
                "raw_body": base64.b64encode(body),
            }
        )

    def _enqueue_handoff_pull(self):
        return self.with_delay(
            max_retries=JOB_MAX_RETRIES,
            priority=20,
            identity_key=self._identity_key("handoff_pull"),
            description=f"Read the shipments of {self.name}",
        )._job_handoff_pull_shipments()

    # === JOBS ===

    def _job_handoff_pull_shipments(self):
        """Job: the reconciliation pull of a partner's confirmations."""
        self.ensure_one()
        if not (self.active and self.state == "connected"):
            return "skipped: the backend is not connected"
        if not (self.supports_fulfilment_handoff and self.handoff_supports_pull):
            return "skipped: the partner does not list its shipments"
        return f"{self._pull_handoff_shipments()} shipments to apply"

    @api.model
    def _cron_handoff_pull_shipments(self):
        """Cron: enqueue the reconciliation of every partner that lists
        its shipments."""
        backends = self.search(
            [("state", "=", "connected"), ("handoff_supports_pull", "=", True)]
        )
        for backend in backends.filtered("supports_fulfilment_handoff"):
            backend._enqueue_handoff_pull()
