from odoo import api, fields, models

from .channel_exception import EXCEPTION_TYPES


class ChannelExceptionOwner(models.Model):
    """The ownership matrix: who owns which kind of exception, within what time.

    The most specific rule wins: type and backend, then type only, then backend
    only, then a catch-all rule with neither; `sequence` breaks ties.
    """

    _name = "channel.exception.owner"
    _description = "Channel Exception Owner"
    _order = "sequence, id"
    _check_company_auto = True

    # === FIELDS ===

    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    exception_type = fields.Selection(
        EXCEPTION_TYPES, string="Type", help="Empty: every type."
    )
    backend_id = fields.Many2one(
        "channel.backend",
        check_company=True,
        ondelete="cascade",
        help="Empty: every backend of the company.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    user_id = fields.Many2one(
        "res.users", string="Owner", help="Gets a to-do activity."
    )
    group_id = fields.Many2one("res.groups", string="Owning team")
    sla_hours = fields.Float(string="SLA (hours)", default=24.0, required=True)

    # === CONSTRAINT METHODS ===

    _sla_hours_positive = models.Constraint(
        "CHECK(sla_hours > 0)", "The SLA must be a positive number of hours."
    )

    # === BUSINESS METHODS ===

    @api.model
    def _find_rule(self, backend, exception_type):
        """Return the most specific active rule for this backend and type."""
        candidates = self.sudo().search(
            [
                ("company_id", "=", backend.company_id.id),
                ("exception_type", "in", (exception_type, False)),
                ("backend_id", "in", (backend.id, False)),
            ]
        )
        return candidates.sorted(
            lambda rule: (not rule.exception_type, not rule.backend_id, rule.sequence)
        )[:1]
