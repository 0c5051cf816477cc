from odoo import models


class StockMove(models.Model):
    """Deliveries a warehouse partner ships are handed to it when they become
    ready (confirmed or reserved, per its backend's policy)."""

    _inherit = "stock.move"

    def _action_confirm(self, merge=True, merge_into=False, create_proc=True):
        """Override of `stock` to hand confirmed deliveries to their 3PL."""
        moves = super()._action_confirm(
            merge=merge, merge_into=merge_into, create_proc=create_proc
        )
        moves._enqueue_handoff_requests()
        return moves

    def _action_assign(self, force_qty=False):
        """Override of `stock` to hand reserved deliveries to their 3PL."""
        result = super()._action_assign(force_qty=force_qty)
        self._enqueue_handoff_requests()
        return result

    def _enqueue_handoff_requests(self):
        pickings = self.picking_id.filtered(lambda p: p.picking_type_code == "outgoing")
        if pickings:
            self.env["channel.handoff.request"].sudo()._enqueue_for_pickings(pickings)
