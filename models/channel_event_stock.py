from odoo import models
from odoo.fields import Domain

from ..adapters.webhooks import FLOW_STOCK
from ..const import DONE, IGNORED


class ChannelEvent(models.Model):
    """Stock webhooks: what the channel says it holds, our own writes ignored."""

    _inherit = "channel.event"

    def _get_flow_handler(self):
        """Override of `channel_connector`: the stock flow."""
        if self.flow == FLOW_STOCK:
            return self._process_stock
        return super()._get_flow_handler()

    def _process_stock(self):
        """Remember a quantity changed on the channel; ignore echoes.

        :return: DONE when the channel's figure was news, else IGNORED
            (an echo of our own write, an older report, an unmapped level)
        """
        backend = self.backend_id
        report = backend._get_adapter(priority="stock").parse_stock_report(
            self.topic, self._get_payload()
        )
        if report is None:
            return IGNORED
        level = self.env["channel.stock.level"].search(
            Domain("backend_id", "=", backend.id)
            & Domain(
                "product_binding_id",
                "any",
                backend._get_stock_report_binding_domain(report),
            )
            & Domain("stock_location_id.location_ref", "=", report.location_ref),
            limit=1,
        )
        if not level:
            return IGNORED
        self.write({"res_model": level.product_id._name, "res_id": level.product_id.id})
        return DONE if level._apply_channel_report(report) else IGNORED
