import json

from odoo import fields, models

from odoo.addons.queue_job.exception import RetryableJobError


class ChannelBackend(models.Model):
    """Amazon settlements imported as payouts, the refunds they state booked
    as channel refunds, and the restricted data token that discloses buyer
    names and addresses to the order import."""

    _inherit = "channel.backend"

    # === FIELDS ===

    amazon_restricted_data = fields.Boolean(
        string="Read buyer names and addresses",
        help="Read each order with a restricted data token (Tokens API) so "
        "that it carries the buyer's name, street and phone: needed to ship "
        "merchant-fulfilled orders. The application needs Amazon's "
        "restricted role for it.",
    )

    amazon_refund_restock = fields.Boolean(
        string="Restock refunded units",
        help="Return the units of an Amazon refund to stock. Amazon's "
        "settlement states the refund, not a return: off, refunded units "
        "are credited without a stock return.",
    )

    # === COMPUTE METHODS ===

    def _compute_capabilities(self):
        """Override of `channel_connector`: Amazon's settlements are read
        as payouts (settlement reports)."""
        super()._compute_capabilities()
        self.filtered(lambda backend: backend.provider == "amazon").update(
            {"supports_payout_import": True, "supports_refund_import": True}
        )

    # === PROVIDER HOOKS ===

    def _get_adapter_config(self):
        """Override of `channel_connector`: whether orders are read with a
        restricted data token."""
        if self.provider != "amazon":
            return super()._get_adapter_config()
        return {
            **super()._get_adapter_config(),
            "restricted_data": self.amazon_restricted_data,
            "refund_restock": self.amazon_refund_restock,
        }

    # === BUSINESS METHODS ===

    def _book_settlement_refunds(self, adapter, payout_ref):
        """Book the refunds settlement `payout_ref` states before its lines
        match: each is stored as a `settlement/refund` event (one per
        adjustment id, so a replay books nothing again) and applied now; one
        whose order is not imported yet waits in the queue like a delivered
        refund."""
        self.ensure_one()
        Event = self.env["channel.event"].sudo()
        for delivery in adapter.fetch_payout_refunds(payout_ref):
            body = json.dumps(delivery.payload, sort_keys=True).encode()
            event, _state = Event._store(
                self, delivery, body, self.provider, self.company_id.id
            )
            if event.state != "queued":
                continue  # done, or waiting for a fix (its exception says why)
            try:
                event._process()
            except RetryableJobError:
                event._enqueue()
