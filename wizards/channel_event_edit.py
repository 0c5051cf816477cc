import json

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..models.channel_event_correction import as_text, text_diff


class ChannelEventEdit(models.TransientModel):
    """Correct the payload of a failed event, see the diff, and replay it."""

    _name = "channel.event.edit"
    _description = "Correct a Channel Event Payload"

    event_id = fields.Many2one("channel.event", required=True, ondelete="cascade")
    original_text = fields.Text(string="As received", readonly=True)
    payload_text = fields.Text(string="Corrected payload", required=True)
    diff = fields.Text(compute="_compute_diff")

    @api.depends("payload_text", "original_text")
    def _compute_diff(self):
        for wizard in self:
            try:
                corrected = json.loads(wizard.payload_text or "null")
            except ValueError as exc:
                wizard.diff = self.env._("Not valid JSON yet: %s", exc)
                continue
            wizard.diff = text_diff(wizard.original_text or "", as_text(corrected))

    @api.model
    def _prepare_for(self, event):
        original = event._get_original_payload()
        return {
            "event_id": event.id,
            "original_text": as_text(original),
            "payload_text": as_text(event.corrected_payload or original),
        }

    def action_save(self):
        """Store the correction (audited); the raw body stays as received."""
        self.ensure_one()
        try:
            corrected = json.loads(self.payload_text)
        except ValueError as exc:
            raise UserError(
                self.env._("The payload is not valid JSON: %s", exc)
            ) from exc
        if not isinstance(corrected, dict):
            raise UserError(self.env._("The payload must be a JSON object."))
        self.event_id._apply_correction(corrected)
        return {"type": "ir.actions.act_window_close"}

    def action_save_and_replay(self):
        self.action_save()
        self.event_id.action_replay()
        return {"type": "ir.actions.act_window_close"}
