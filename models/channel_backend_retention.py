from odoo import api, fields, models

# System parameter: the retention of a new backend's events, in days.
RETENTION_PARAM = "channel_connector.event_retention_days"
DEFAULT_RETENTION_DAYS = 30


class ChannelBackend(models.Model):
    """How long a backend's deliveries stay in the event inbox."""

    _inherit = "channel.backend"

    # === FIELDS ===

    event_retention_days = fields.Integer(
        string="Keep events (days)",
        default=lambda self: self._default_event_retention_days(),
        required=True,
        help="Processed events older than this are purged daily; failed ones "
        "once every exception raised about them is closed. New backends start "
        "from the system parameter channel_connector.event_retention_days.",
    )

    # === CONSTRAINT METHODS ===

    _event_retention_days_positive = models.Constraint(
        "CHECK(event_retention_days > 0)",
        "Events must be kept at least one day.",
    )

    # === BUSINESS METHODS ===

    @api.model
    def _default_event_retention_days(self):
        value = self.env["ir.config_parameter"].sudo().get_param(RETENTION_PARAM)
        return int(value) if value else DEFAULT_RETENTION_DAYS
