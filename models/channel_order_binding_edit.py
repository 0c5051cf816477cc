from odoo import api, fields, models
from odoo.tools import float_compare

from ..const import DONE, DUPLICATE, IGNORED
from .channel_partner_binding import _same


class ChannelOrderBinding(models.Model):
    """Order edits on the channel after confirmation: quantities removed from
    lines not shipped yet reduce the sale order; anything else is an
    `order_edit` exception that says what changed."""

    _inherit = "channel.order.binding"

    # === FIELDS ===

    applied_edit_refs = fields.Char(
        string="Applied edits",
        readonly=True,
        copy=False,
        help="Channel order edits already handled.",
    )

    # === BUSINESS METHODS ===

    @api.model
    def _apply_channel_edit(self, backend, edit):
        """Apply one canonical `OrderEditData` once.

        :return: (binding, outcome); IGNORED when the order is not confirmed
            in Odoo (its own update rebuilds a quotation's lines)
        """
        self._lock(backend, edit.order_ref)
        binding = self.search(
            [("backend_id", "=", backend.id), ("external_ref", "=", edit.order_ref)]
        )
        if binding.sale_order_id.state != "sale":
            return binding, IGNORED
        if edit.external_ref in (binding.applied_edit_refs or "").split():
            return binding, DUPLICATE
        problems = binding._edit_problems(edit)
        if problems:
            binding._record_edit(edit, problems)
        else:
            binding._reduce_lines(edit)
        binding.applied_edit_refs = " ".join(
            [*(binding.applied_edit_refs or "").split(), edit.external_ref]
        )
        return binding, DONE

    def _edit_problems(self, edit):
        """Why the edit cannot be applied safely; empty when it can."""
        problems = []
        if edit.additions:
            problems.append(self.env._("lines were added"))
        if edit.other_changes:
            problems.append(self.env._("%s changed", ", ".join(edit.other_changes)))
        invoices = self.sale_order_id.invoice_ids.filtered(
            lambda m: m.move_type == "out_invoice" and m.state == "posted"
        )
        if invoices:
            problems.append(
                self.env._(
                    "the order is invoiced (%s): the channel's refund of the "
                    "removed items credits it",
                    ", ".join(invoices.mapped("name")),
                )
            )
        for line_ref, quantity in edit.removals:
            sale_line = self._edit_line(line_ref)
            if not sale_line:
                problems.append(self.env._("line %s is not on the order", line_ref))
            elif (
                float_compare(
                    self._undelivered(sale_line),
                    float(quantity),
                    precision_rounding=sale_line.product_uom_id.rounding,
                )
                < 0
            ):
                problems.append(
                    self.env._(
                        "%s has shipped or is being shipped",
                        sale_line.product_id.display_name,
                    )
                )
        return problems

    def _edit_line(self, line_ref):
        return self.sale_order_id.order_line.filtered(
            lambda sol: sol.channel_line_ref == line_ref
        )[:1]

    def _undelivered(self, sale_line):
        """What of the line still waits in a delivery not yet picked."""
        moves = sale_line.move_ids.filtered(
            lambda m: (
                m.state not in ("done", "cancel")
                and m.location_dest_id.usage == "customer"
                and not m.picked
            )
        )
        return sum(moves.mapped("product_uom_qty"))

    def _reduce_lines(self, edit):
        """Take the removed quantities off the sale lines; the standard flow
        takes them off the open delivery."""
        for line_ref, quantity in edit.removals:
            sale_line = self._edit_line(line_ref)
            sale_line.product_uom_qty -= float(quantity)
        self.sale_order_id.message_post(
            body=self.env._(
                "Edited on the channel (edit %(ref)s): %(changes)s.",
                ref=edit.external_ref,
                changes=self._describe_edit(edit),
            )
        )

    def _record_edit(self, edit, problems):
        self.env["channel.exception"]._record(
            "order_edit",
            self.env._(
                "Order %(order)s was edited on the channel after confirmation "
                "(%(changes)s); the edit is not applied because %(problems)s. "
                "Adjust the order by hand.",
                order=self.channel_name,
                changes=self._describe_edit(edit),
                problems="; ".join(problems),
            ),
            backend=self.backend_id,
            key=f"edit:{edit.external_ref}",
            documents=[self.sale_order_id],
        )

    def _describe_edit(self, edit):
        changes = []
        for verb, deltas in (
            (self.env._("removed"), edit.removals),
            (self.env._("added"), edit.additions),
        ):
            for line_ref, quantity in deltas:
                sale_line = self._edit_line(line_ref)
                label = sale_line.product_id.default_code or sale_line.name or line_ref
                changes.append(f"{verb} {quantity:g} × {label}")
        changes += list(edit.other_changes)
        return ", ".join(changes) or self.env._("no line change")

    def _follow_address_change(self, order):
        """A confirmed order's shipping address changed on the channel: the
        deliveries follow it while nothing has shipped, else finance and the
        warehouse hear of it (an `order_edit` exception)."""
        sale_order = self.sale_order_id
        if not order.shipping_address:
            return
        Partner = self.env["channel.partner.binding"]
        values = Partner._address_values(order.shipping_address)
        current = sale_order.partner_shipping_id
        if all(_same(current[key], value) for key, value in values.items()):
            return
        outgoing = sale_order.picking_ids.filtered(
            lambda p: p.picking_type_code == "outgoing" and p.state != "cancel"
        )
        if any(p.state == "done" or p.move_ids.filtered("picked") for p in outgoing):
            self.env["channel.exception"]._record(
                "order_edit",
                self.env._(
                    "The shipping address of order %(order)s changed on the "
                    "channel after its goods were picked or shipped: %(address)s. "
                    "Check the delivery by hand.",
                    order=self.channel_name,
                    address=", ".join(str(v) for v in values.values() if v),
                ),
                backend=self.backend_id,
                key=f"address:{self.external_ref}",
                documents=[sale_order],
            )
            return
        address = Partner._resolve_address(
            sale_order.partner_id, order.shipping_address, "delivery"
        )
        sale_order.partner_shipping_id = address
        outgoing.filtered(lambda p: p.state != "done").partner_id = address
        sale_order.message_post(
            body=self.env._("Shipping address changed on the channel.")
        )
