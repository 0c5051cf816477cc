from datetime import timezone

from odoo import api, fields, models
from odoo.exceptions import UserError


class ChannelBackend(models.Model):
    """Bulk backfill: import the orders created since a date. Each run is a
    `channel.backfill` record holding its progress: the backend keeps only
    the date an operator sets."""

    _inherit = "channel.backend"

    # === FIELDS ===

    backfill_since = fields.Datetime(
        string="Import orders created since",
        help="Start of the history the next backfill imports.",
    )
    backfill_ids = fields.One2many(
        "channel.backfill", "backend_id", string="Backfills", readonly=True
    )
    backfill_id = fields.Many2one(
        "channel.backfill",
        string="Last backfill",
        compute="_compute_backfill_id",
        help="The backfill running, else the last one.",
    )
    is_backfill_running = fields.Boolean(compute="_compute_backfill_id")

    # === COMPUTE METHODS ===

    @api.depends("backfill_ids.state")
    def _compute_backfill_id(self):
        for backend in self:
            backend.backfill_id = backend.backfill_ids[:1]
            backend.is_backfill_running = backend.backfill_id.state == "running"

    # === ACTION METHODS ===

    def action_start_backfill(self):
        self._check_manager_rights()
        for backend in self:
            backend._start_backfill()

    def action_cancel_backfill(self):
        """The page job under way finishes its page; no next page is queued."""
        self._check_manager_rights()
        self.backfill_id.action_cancel()

    # === BUSINESS METHODS ===

    def _start_backfill(self):
        """Count the orders to import, create the run and enqueue its first page."""
        self.ensure_one()
        if not (self.supports_order_pull and self.state == "connected"):
            raise UserError(
                self.env._(
                    "%(name)s must be a connected channel that lists its orders.",
                    name=self.name,
                )
            )
        if not self.backfill_since:
            raise UserError(self.env._("Set the date to import orders from first."))
        if self.is_backfill_running:
            raise UserError(self.env._("A backfill is already running."))
        total = self._get_adapter(priority="orders").count_orders_created_since(
            self.backfill_since.replace(tzinfo=timezone.utc)
        )
        backfill = self.env["channel.backfill"].create(
            {"backend_id": self.id, "since": self.backfill_since, "total": total}
        )
        self.invalidate_recordset(["backfill_ids", "backfill_id"])
        backfill._enqueue_page()
        return backfill
