from odoo import fields, models


class ChannelExceptionIgnore(models.TransientModel):
    """Ignore exceptions with a reason, kept on each exception for audit."""

    _name = "channel.exception.ignore"
    _description = "Ignore Channel Exceptions"

    exception_ids = fields.Many2many("channel.exception", required=True)
    reason = fields.Text(required=True)

    def action_ignore(self):
        exceptions = self.exception_ids._action_ignore(self.reason)
        for exception in exceptions:
            exception.message_post(
                body=self.env._(
                    "Ignored by %(user)s: %(reason)s",
                    user=self.env.user.name,
                    reason=self.reason,
                )
            )
            exception.activity_ids.action_feedback(feedback=self.reason)
        return {"type": "ir.actions.act_window_close"}
