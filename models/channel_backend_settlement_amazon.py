from odoo import fields, models


class ChannelBackend(models.Model):
    """Amazon settlements imported as payouts, and the restricted data token
    that discloses buyer names and addresses to the order import."""

    _inherit = "channel.backend"

    # === FIELDS ===

    amazon_restricted_data = fields.Boolean(
        string="Read buyer names and addresses",
        help="Read each order with a restricted data token (Tokens API) so "
        "that it carries the buyer's name, street and phone: needed to ship "
        "merchant-fulfilled orders. The application needs Amazon's "
        "restricted role for it.",
    )

    # === COMPUTE METHODS ===

    def _compute_capabilities(self):
        """Override of `channel_connector`: Amazon's settlements are read
        as payouts (settlement reports)."""
        super()._compute_capabilities()
        self.filtered(lambda backend: backend.provider == "amazon").update(
            {"supports_payout_import": True}
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
        }
