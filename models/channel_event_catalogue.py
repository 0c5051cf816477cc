from odoo import models

from .. import adapters
from ..adapters.webhooks import FLOW_CATALOG
from ..const import DONE, IGNORED

# Decided from the topic alone: a new event is checked before its backend is
# read (`_initial_state`), and topic names differ between providers.
PRODUCT_EDIT_TOPICS = frozenset().union(
    *(adapter.product_edit_topics for adapter in adapters.ADAPTERS.values())
)


class ChannelEvent(models.Model):
    """Product deliveries: an edit made on the channel while Odoo is the
    product master becomes a difference, republished per the backend's policy."""

    _inherit = "channel.event"

    def _get_flow_handler(self):
        """Override of `channel_connector`: the catalogue flow's product
        edit topics (others, e.g. product creations, wait for a handler)."""
        if self.flow == FLOW_CATALOG and self.topic in PRODUCT_EDIT_TOPICS:
            return self._process_catalogue
        return super()._get_flow_handler()

    def _process_catalogue(self):
        """Apply a product delivery (`ChannelAdapter.parse_product_edit`).

        :return: DONE when it differed from Odoo, else IGNORED (another
            topic, a product not published from Odoo, an echo of our write)
        """
        backend = self.backend_id
        edit = backend._get_adapter(priority="catalog").parse_product_edit(
            self.topic, self._get_payload()
        )
        if edit is None:
            return IGNORED
        listing = backend._apply_channel_edit(edit)
        if not listing:
            return IGNORED
        self.write({"res_model": listing._name, "res_id": listing.id})
        return DONE
