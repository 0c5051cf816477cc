import re

from odoo import api, fields, models
from odoo.tools import float_compare

from odoo.addons.queue_job.exception import RetryableJobError

from ..const import DONE, FAILED, IGNORED

# Seconds before a channel's fulfilment waits again for its order's import,
# or for a report of ours to the channel still in flight.
WAIT_SECONDS = 60


class ChannelFulfilment(models.Model):
    """Fulfilments made on the channel (by staff, an app, another warehouse)
    close the matching quantities of the Odoo delivery: recorded as
    `channel.fulfilment` of origin *channel*, which are never reported back."""

    _inherit = "channel.fulfilment"

    # === FIELDS ===

    origin = fields.Selection(
        [("odoo", "Shipped from Odoo"), ("channel", "Shipped on the channel")],
        required=True,
        default="odoo",
        readonly=True,
        help="Shipped on the channel: the channel's fulfilment closed this "
        "delivery in Odoo; nothing is reported back.",
    )

    # === BUSINESS METHODS ===

    def _pending_work(self):
        """Override of `channel_connector`: the channel owns its fulfilments."""
        if self.origin == "channel":
            return None
        return super()._pending_work()

    @api.model
    def _find_channel_ref(self, backend, ref):
        """The fulfilments (ours or the channel's) that carry channel id `ref`
        (ours keep several ids comma-separated). The channel's text is no
        pattern: its `%` and `_` match themselves only."""
        literal = re.sub(r"([\\%_])", r"\\\1", ref)
        return self.search(
            [
                ("backend_id", "=", backend.id),
                "|",
                "|",
                "|",
                ("external_ref", "=", ref),
                ("external_ref", "=like", f"{literal},%"),
                ("external_ref", "=like", f"%,{literal}"),
                ("external_ref", "=like", f"%,{literal},%"),
            ]
        )

    @api.model
    def _apply_channel_shipment(self, backend, shipment, event=None, history=False):
        """Validate the Odoo delivery quantities a fulfilment made on the
        channel shipped (a backorder for the rest), with its tracking.

        A fulfilment Odoo reported itself, or applied already, changes
        nothing (its tracking excepted); quantities or stock that do not
        allow it are a `fulfilment_failed` exception and change nothing.
        `history` (a backfill): the goods left before Odoo counted its
        stock, so the delivery is done from the inventory adjustment
        location, reserving and taking nothing from the warehouse.

        :return: (sale order or empty, DONE, IGNORED or FAILED)
        :raise RetryableJobError: the order is not imported yet, or a report
            of ours to the channel is in flight
        """
        known = self._find_channel_ref(backend, shipment.fulfilment_ref)
        if known:
            return known.picking_id.sale_id[:1], known._follow_channel_shipment(
                shipment
            )
        if shipment.cancelled:
            return self.env["sale.order"], IGNORED
        binding = self._channel_shipment_binding(backend, shipment)
        sale_order = binding.sale_order_id
        problem, plan = self._plan_channel_shipment(binding, shipment, history)
        if problem:
            self._report_channel_shipment(backend, sale_order, shipment, problem, event)
            return sale_order, FAILED
        if not plan:
            return sale_order, IGNORED
        for picking, quantities in plan:
            if history:
                self._move_out_of_stock(picking)
            self._validate_channel_shipment(binding, picking, quantities, shipment)
        self.env["channel.exception"]._resolve(
            backend,
            exception_type="fulfilment_failed",
            key=f"channel_fulfilment:{shipment.fulfilment_ref}",
        )
        return sale_order, DONE

    def _follow_channel_shipment(self, shipment):
        """A fulfilment known already: the channel's own follows its tracking
        (or its cancellation, which Odoo cannot undo by itself)."""
        channel_made = self.filtered(lambda f: f.origin == "channel")
        if not channel_made:
            return IGNORED
        if shipment.cancelled:
            if set(channel_made.mapped("state")) == {"cancelled"}:
                return IGNORED
            fulfilment = channel_made[0]
            self.env["channel.exception"]._record(
                "fulfilment_failed",
                self.env._(
                    "Fulfilment %(ref)s of order %(order)s was cancelled on the "
                    "channel after it closed delivery %(picking)s: return the "
                    "goods in Odoo if they did not leave.",
                    ref=fulfilment.external_ref,
                    order=fulfilment.order_binding_id.channel_name,
                    picking=fulfilment.picking_id.name,
                ),
                backend=fulfilment.backend_id,
                key=f"channel_fulfilment_cancelled:{fulfilment.external_ref}",
                documents=[fulfilment.picking_id.sale_id],
            )
            channel_made.state = "cancelled"
            return DONE
        if (shipment.tracking_number or False) == (channel_made[0].tracking_ref):
            return IGNORED
        channel_made.write(
            {
                "tracking_ref": shipment.tracking_number or False,
                "carrier_name": shipment.tracking_company or False,
            }
        )
        channel_made.picking_id.carrier_tracking_ref = shipment.tracking_number
        return DONE

    @api.model
    def _channel_shipment_binding(self, backend, shipment):
        """The confirmed order binding of the shipment, else wait for it (and
        for a report of ours in flight, whose echo this may be)."""
        binding = self.env["channel.order.binding"].search(
            [("backend_id", "=", backend.id), ("external_ref", "=", shipment.order_ref)]
        )
        if binding.sale_order_id.state != "sale":
            raise RetryableJobError(
                f"Fulfilment {shipment.fulfilment_ref} waits for its order "
                f"{shipment.order_ref} to be imported and confirmed.",
                seconds=WAIT_SECONDS,
            )
        if self.search_count(
            [("order_binding_id", "=", binding.id), ("state", "in", ("pending",))]
        ):
            raise RetryableJobError(
                f"Fulfilment {shipment.fulfilment_ref} waits for the report of "
                f"order {shipment.order_ref} to the channel in progress.",
                seconds=WAIT_SECONDS,
            )
        return binding

    @api.model
    def _move_out_of_stock(self, picking):
        """The delivery of history shipped before Odoo counted its stock:
        unreserved and taken from the inventory adjustment location, where
        Odoo keeps no quantity, so no warehouse quant changes."""
        location = self.env["stock.location"].search(
            [
                ("usage", "=", "inventory"),
                ("company_id", "in", (picking.company_id.id, False)),
            ],
            order="company_id",
            limit=1,
        )
        picking.do_unreserve()
        picking.move_ids.filtered(
            lambda m: m.state not in ("done", "cancel")
        ).location_id = location
        picking.location_id = location
        return picking

    @api.model
    def _plan_channel_shipment(self, binding, shipment, history=False):
        """(problem or None, [(picking, {move: quantity in its unit})]): where
        the shipped quantities come from in the order's open deliveries."""
        sale_order = binding.sale_order_id
        pickings = sale_order.picking_ids.filtered(
            lambda p: (
                p.picking_type_code == "outgoing"
                and p.location_dest_id.usage == "customer"
                and p.state not in ("done", "cancel")
            )
        )
        moves = pickings.move_ids.filtered(
            lambda m: m.state not in ("done", "cancel") and m.sale_line_id
        )
        wanted = self._channel_shipment_wanted(sale_order, shipment, moves)
        if not wanted:
            return None, []
        plan = {}
        for sale_line, quantity in wanted.items():
            if sale_line.move_ids.product_id - sale_line.product_id:
                return self.env._(
                    "%s is a kit: validate its components by hand",
                    sale_line.product_id.display_name,
                ), []
            left = quantity
            for move in moves.filtered(lambda m, sol=sale_line: m.sale_line_id == sol):
                open_qty = move.product_uom._compute_quantity(
                    move.product_uom_qty, sale_line.product_uom_id
                )
                take = min(left, open_qty)
                if take > 0:
                    plan.setdefault(move.picking_id, {})[move] = (
                        sale_line.product_uom_id._compute_quantity(
                            take, move.product_uom
                        )
                    )
                    left -= take
            if float_compare(
                left, 0, precision_rounding=sale_line.product_uom_id.rounding
            ):
                return self.env._(
                    "%(qty)s x %(product)s shipped on the channel, but no open "
                    "delivery in Odoo holds that many",
                    qty=quantity,
                    product=sale_line.product_id.display_name,
                ), []
        problem = None if history else self._channel_shipment_stock_problem(plan)
        return problem, [] if problem else list(plan.items())

    @api.model
    def _channel_shipment_wanted(self, sale_order, shipment, moves):
        """{sale line: quantity in its unit} the shipment takes from `moves`;
        a whole-order shipment takes what they still hold."""
        lines = sale_order.order_line.filtered("channel_line_ref")
        if shipment.whole_order:
            return {
                line: sum(
                    m.product_uom._compute_quantity(
                        m.product_uom_qty, line.product_uom_id
                    )
                    for m in moves.filtered(lambda m, sol=line: m.sale_line_id == sol)
                )
                for line in lines
                if moves.filtered(lambda m, sol=line: m.sale_line_id == sol)
            }
        wanted = {}
        for item in shipment.lines:
            line = lines.filtered(
                lambda sol, ref=item.line_ref: sol.channel_line_ref == ref
            )
            if line and line.product_id.type == "consu":
                wanted[line[:1]] = wanted.get(line[:1], 0) + item.quantity
        if not any(
            moves.filtered(lambda m, sol=line: m.sale_line_id == sol) for line in wanted
        ):
            # Odoo shipped these lines itself (or nothing here ships): nothing
            # left to close.
            return {}
        return wanted

    @api.model
    def _channel_shipment_stock_problem(self, plan):
        """Why the source locations cannot give these quantities (never a
        negative quant), or None."""
        needed = {}
        for picking, quantities in plan.items():
            for move, quantity in quantities.items():
                product = move.product_id
                key = (product, picking.location_id)
                reserved, total = needed.get(key, (0, 0))
                to_product_uom = move.product_uom._compute_quantity
                needed[key] = (
                    reserved + to_product_uom(move.quantity, product.uom_id),
                    total + to_product_uom(quantity, product.uom_id),
                )
        for (product, location), (reserved, total) in needed.items():
            if not product.is_storable:
                continue
            held = (
                self.env["stock.quant"]._get_available_quantity(product, location)
                + reserved
            )
            if (
                float_compare(total, held, precision_rounding=product.uom_id.rounding)
                > 0
            ):
                return self.env._(
                    "%(qty)s x %(product)s shipped on the channel, but Odoo holds "
                    "%(held)s at %(location)s",
                    qty=total,
                    product=product.display_name,
                    held=held,
                    location=location.display_name,
                )
        return None

    @api.model
    def _validate_channel_shipment(self, binding, picking, quantities, shipment):
        """Record the channel's fulfilment on `picking` (so that nothing is
        reported back), then validate these quantities; the rest is a
        backorder."""
        self.create(
            {
                "backend_id": binding.backend_id.id,
                "company_id": binding.company_id.id,
                "order_binding_id": binding.id,
                "picking_id": picking.id,
                "origin": "channel",
                "state": "done",
                "external_ref": shipment.fulfilment_ref,
                "tracking_ref": shipment.tracking_number or False,
                "carrier_name": shipment.tracking_company or False,
                "pushed_at": fields.Datetime.now(),
            }
        )
        if shipment.tracking_number:
            picking.carrier_tracking_ref = shipment.tracking_number
        for move in picking.move_ids.filtered(
            lambda m: m.state not in ("done", "cancel")
        ):
            move.quantity = quantities.get(move, 0)
            move.picked = True
        picking.with_context(skip_backorder=True).button_validate()
        picking.message_post(
            body=self.env._(
                "Shipped on %(backend)s (fulfilment %(ref)s): validated from the "
                "channel.",
                backend=binding.backend_id.name,
                ref=shipment.fulfilment_ref,
            )
        )

    @api.model
    def _report_channel_shipment(self, backend, sale_order, shipment, problem, event):
        self.env["channel.exception"]._record(
            "fulfilment_failed",
            self.env._(
                "Fulfilment %(ref)s made on the channel for %(order)s was not "
                "applied in Odoo: %(problem)s.",
                ref=shipment.fulfilment_ref,
                order=sale_order.name,
                problem=problem,
            ),
            backend=backend,
            key=f"channel_fulfilment:{shipment.fulfilment_ref}",
            documents=[sale_order],
            retry_target=event,
        )
