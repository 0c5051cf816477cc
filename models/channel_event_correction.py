import difflib
import json

from odoo import api, fields, models


def as_text(value):
    """Readable text of a payload for diffs: sorted, indented JSON; raw text as is.

    A malformed delivery's original payload is its raw text.
    """
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def text_diff(before, after):
    """Unified diff, line by line, of two payload texts."""
    return "\n".join(
        difflib.unified_diff(
            before.splitlines(),
            after.splitlines(),
            fromfile="before",
            tofile="after",
            lineterm="",
        )
    )


class ChannelEventCorrection(models.Model):
    """Audit trail of a manager's correction of an event payload (dead letter).

    The raw body the channel sent is never touched: a correction stores the
    payload to process instead, and this record says who changed what, when.
    """

    _name = "channel.event.correction"
    _description = "Channel Event Correction"
    _order = "create_date desc, id desc"
    _rec_name = "event_id"

    event_id = fields.Many2one(
        "channel.event", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="event_id.company_id", store=True)
    user_id = fields.Many2one(
        "res.users", required=True, readonly=True, default=lambda self: self.env.user
    )
    previous_payload = fields.Json(readonly=True)
    corrected_payload = fields.Json(required=True, readonly=True)
    diff = fields.Text(compute="_compute_diff")

    @api.depends("previous_payload", "corrected_payload")
    def _compute_diff(self):
        for correction in self:
            correction.diff = text_diff(
                as_text(correction.previous_payload),
                as_text(correction.corrected_payload),
            )
