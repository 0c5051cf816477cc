from odoo import Command, api, fields, models

from ..adapters.records import RETURN_DEAD_STATUSES, RETURN_LIVE_STATUSES
from ..const import DONE, DUPLICATE, IGNORED

RETURN_PREFIX = "return:"


class ChannelRefundBinding(models.Model):
    """Returns opened on the channel ahead of their refund: the incoming
    picking is made when the return opens (key `return:<id>`), so the refund
    that follows finds its goods already on their way back and returns
    nothing twice."""

    _inherit = "channel.refund.binding"

    # === FIELDS ===

    is_return = fields.Boolean(
        string="Channel return",
        readonly=True,
        help="A return opened on the channel: goods only, no money.",
    )

    # === BUSINESS METHODS ===

    @api.model
    def _apply_channel_return(self, backend, channel_return):
        """Make (once) the return picking of an open channel return, or cancel
        the one still waiting when the channel cancels or declines it.

        :raise RetryableJobError: its order is not imported and confirmed yet
        """
        ref = f"{RETURN_PREFIX}{channel_return.external_ref}"
        self._lock(backend, ref)
        binding = self.search(
            [("backend_id", "=", backend.id), ("external_ref", "=", ref)]
        )
        if channel_return.status in RETURN_DEAD_STATUSES:
            binding._cancel_return()
            return binding, DONE if binding else IGNORED
        if channel_return.status not in RETURN_LIVE_STATUSES:
            return binding, IGNORED
        if binding.state == "done":
            return binding, DUPLICATE
        if not binding:
            order_binding = self._find_order(backend, channel_return)
            binding = self.create(self._return_values(order_binding, channel_return))
        binding._apply_return(channel_return)
        return binding, DONE

    @api.model
    def _return_values(self, order_binding, channel_return):
        return {
            "backend_id": order_binding.backend_id.id,
            "company_id": order_binding.company_id.id,
            "external_ref": f"{RETURN_PREFIX}{channel_return.external_ref}",
            "order_binding_id": order_binding.id,
            "name": self.env._(
                "Return %(name)s of %(order)s",
                name=channel_return.name or channel_return.external_ref,
                order=order_binding.channel_name,
            ),
            "is_return": True,
            "is_payment_done": True,
            "currency_id": order_binding.currency_id.id,
            "sync_date": fields.Datetime.now(),
        }

    def _apply_return(self, channel_return):
        """Return the shipped units the channel return lists."""
        to_return = {}
        missing = False
        for line_ref, quantity in channel_return.lines:
            sale_line = self._sale_line(line_ref)
            if sale_line.product_id.type != "consu":
                continue
            left = float(quantity)
            for move, take in self._returnable_moves(sale_line, left):
                to_return.setdefault(move.picking_id, {})[move] = take
                left -= take
            missing |= left > 0
        returns = self.env["stock.picking"]
        for picking, quantities in to_return.items():
            returns |= self._create_return(picking, quantities)
        self.return_picking_ids = [Command.link(p.id) for p in returns]
        if missing:
            self._record_incomplete(
                self.backend_id,
                self.external_ref,
                self.env._(
                    "%s lists goods Odoo has not shipped: their return waits "
                    "until they are; Retry once they are delivered.",
                    self.name,
                ),
                documents=[self.sale_order_id],
                target=self,
            )
        self.write(
            {
                "is_stock_done": not missing,
                "state": "incomplete" if missing else "done",
                "missing": self.env._("stock return") if missing else False,
                "sync_date": fields.Datetime.now(),
            }
        )

    def _cancel_return(self):
        """The channel cancelled or declined the return: the goods do not
        come back. Return pickings still waiting are cancelled; goods already
        received are an exception saying what to do. A replay changes
        nothing more."""
        if not self:
            return
        pickings = self.return_picking_ids
        waiting = pickings.filtered(lambda p: p.state not in ("done", "cancel"))
        received = pickings.filtered(lambda p: p.state == "done")
        if waiting:
            waiting.action_cancel()
            self.sale_order_id.message_post(
                body=self.env._(
                    "%(name)s was cancelled on the channel: its return %(pickings)s "
                    "is cancelled.",
                    name=self.name,
                    pickings=", ".join(waiting.mapped("name")),
                )
            )
        self.write(
            {"state": "done", "missing": False, "sync_date": fields.Datetime.now()}
        )
        key = f"refund:{self.external_ref}"
        if not received:
            self.env["channel.exception"]._resolve(
                self.backend_id, exception_type="refund_incomplete", key=key
            )
            return
        self._record_incomplete(
            self.backend_id,
            self.external_ref,
            self.env._(
                "%(name)s was cancelled on the channel, but Odoo already received "
                "its goods (%(pickings)s): ship them back to the buyer, or refund "
                "them on the channel (the refund then books the credit note).",
                name=self.name,
                pickings=", ".join(received.mapped("name")),
            ),
            documents=[self.sale_order_id, *received],
        )

    def _channel_retry(self):
        """Override of `channel_connector`: a channel return is read again and
        its missing units returned."""
        if not self.is_return:
            return super()._channel_retry()
        self.ensure_one()
        if self.state == "done":
            return True
        adapter = self.backend_id._get_adapter(priority="orders")
        with self.backend_id._map_channel_errors():
            channel_return = adapter.fetch_return(
                self.external_ref.removeprefix(RETURN_PREFIX)
            )
        self._apply_return(channel_return)
        return self.state == "done"
