from odoo import models

from ..adapters.handoff import FLOW_HANDOFF, TOPIC_SHIPMENT, TOPIC_STOCK_SNAPSHOT
from ..const import IGNORED


class ChannelEvent(models.Model):
    """Warehouse partner deliveries: shipment confirmations, stock snapshots."""

    _inherit = "channel.event"

    def _get_flow_handler(self):
        """Override of `channel_connector`: the warehouse partner flow."""
        if self.flow == FLOW_HANDOFF:
            return self._process_handoff
        return super()._get_flow_handler()

    def _process_handoff(self):
        """Apply a shipment confirmation (validate the delivery) or compare a
        stock snapshot with Odoo's quantities."""
        backend = self.backend_id
        adapter = backend._get_adapter(priority="fulfilment")
        if self.topic == TOPIC_SHIPMENT:
            confirmation = adapter.parse_shipment(self._get_payload())
            outcome = self.env["channel.handoff.shipment"]._apply_confirmation(
                backend, confirmation, self
            )
            picking = (
                self.env["channel.handoff.request"]
                .search(
                    [
                        ("backend_id", "=", backend.id),
                        ("request_ref", "=", confirmation.request_ref),
                    ]
                )
                .picking_id
            )
            if picking:
                self.write({"res_model": picking._name, "res_id": picking.id})
            return outcome
        if self.topic == TOPIC_STOCK_SNAPSHOT:
            snapshot = adapter.parse_stock_snapshot(self._get_payload())
            return backend._apply_handoff_stock_snapshot(snapshot)
        return IGNORED
