from datetime import timezone

from odoo import api, fields, models

from ..const import DONE, FAILED, JOB_CHANNEL_ORDERS, JOB_MAX_RETRIES

# Below the webhook and reconciliation jobs of the orders channel: a backfill
# of a year of history never delays today's orders.
BACKFILL_PRIORITY = 50


class ChannelBackfill(models.Model):
    """One run of a bulk backfill: the orders created since a date, read one
    channel page per job, each order imported by its own job.

    The run's page job is the only writer of its cursor and `processed`; what
    the order jobs did is counted from their `orders/pull` events on read, so
    that no job writes a row the others share (nor the backend's).
    """

    _name = "channel.backfill"
    _description = "Channel Backfill"
    _order = "id desc"
    _rec_name = "backend_id"

    # === FIELDS ===

    backend_id = fields.Many2one(
        "channel.backend", required=True, ondelete="cascade", index=True, readonly=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    since = fields.Datetime(string="Orders created since", required=True, readonly=True)
    state = fields.Selection(
        [
            ("running", "Running"),
            ("done", "Done"),
            ("cancelled", "Cancelled"),
            ("failed", "Failed"),
        ],
        default="running",
        required=True,
        readonly=True,
    )
    cursor = fields.Char(readonly=True)
    pages = fields.Integer(
        readonly=True, help="Pages read: the number of the next one."
    )
    total = fields.Integer(
        readonly=True, help="Orders the channel counted at the start."
    )
    processed = fields.Integer(string="Read", readonly=True, help="Orders read.")
    event_ids = fields.One2many("channel.event", "backfill_id", readonly=True)
    imported = fields.Integer(compute="_compute_outcomes")
    failed = fields.Integer(
        compute="_compute_outcomes", help="Orders waiting on an exception."
    )
    progress = fields.Float(compute="_compute_progress")
    started_at = fields.Datetime(
        required=True, readonly=True, default=fields.Datetime.now
    )
    finished_at = fields.Datetime(readonly=True)
    message = fields.Char(readonly=True)

    # === COMPUTE METHODS ===

    @api.depends("event_ids.state")
    def _compute_outcomes(self):
        counts = {
            (backfill.id, state): count
            for backfill, state, count in self.env["channel.event"]._read_group(
                [("backfill_id", "in", self.ids), ("state", "in", (DONE, FAILED))],
                ["backfill_id", "state"],
                ["__count"],
            )
        }
        for backfill in self:
            backfill.imported = counts.get((backfill.id, DONE), 0)
            backfill.failed = counts.get((backfill.id, FAILED), 0)

    @api.depends("processed", "total", "state")
    def _compute_progress(self):
        for backfill in self:
            if backfill.state == "done":
                backfill.progress = 100.0
            elif backfill.total:
                backfill.progress = min(
                    100.0, 100.0 * backfill.processed / backfill.total
                )
            else:
                backfill.progress = 0.0

    # === ACTION METHODS ===

    def action_cancel(self):
        """The page job under way finishes its page; no next page is queued."""
        self.filtered(lambda b: b.state == "running").write(
            {
                "state": "cancelled",
                "finished_at": fields.Datetime.now(),
                "message": self.env._("Cancelled by %s", self.env.user.name),
            }
        )

    # === BUSINESS METHODS ===

    def _enqueue_page(self):
        self.ensure_one()
        return self.with_delay(
            max_retries=JOB_MAX_RETRIES,
            channel=JOB_CHANNEL_ORDERS,
            priority=BACKFILL_PRIORITY,
            identity_key=self.backend_id._identity_key("backfill", self.id, self.pages),
            description=f"Backfill orders of {self.backend_id.name}, "
            f"page {self.pages + 1}",
        )._job_import_page(self.pages, self.cursor or False)

    def _read_page(self, cursor):
        """Read one page and enqueue one import job per order of it.

        :return: the next cursor, or None at the end of the history
        """
        backend = self.backend_id
        adapter = backend._get_adapter(priority="orders")
        orders, next_cursor = adapter.fetch_orders_created_since(
            self.since.replace(tzinfo=timezone.utc), cursor or None
        )
        self.env["channel.order.binding"]._enqueue_pulled_orders(
            backend, orders, BACKFILL_PRIORITY, backfill=self
        )
        self.write(
            {
                "cursor": next_cursor or False,
                "pages": self.pages + 1,
                "processed": self.processed + len(orders),
            }
        )
        return next_cursor

    def _finish(self):
        self.write(
            {
                "state": "done",
                "finished_at": fields.Datetime.now(),
                "message": self.env._(
                    "%(processed)s orders read and queued for import.",
                    processed=self.processed,
                ),
            }
        )

    # === JOBS ===

    def _job_import_page(self, page, cursor):
        """Job (orders channel, low priority): one page of the backfill, then
        queue the next. A page already read (a replayed job) or a backfill
        cancelled meanwhile ends here."""
        self.ensure_one()
        if self.state != "running":
            return f"skipped: backfill {self.state}"
        if page != self.pages:
            return "skipped: this page was already imported"
        with self.backend_id._map_channel_errors():
            next_cursor = self._read_page(cursor)
        if next_cursor:
            self._enqueue_page()
        else:
            self._finish()
        return f"{self.processed} of {self.total} orders read"

    def _on_job_failed(self, exc_name=None, exc_message=None, **values):
        """on_fail hook of the page job: stop, say why, record the exception."""
        self.write(
            {
                "state": "failed",
                "finished_at": fields.Datetime.now(),
                "message": exc_message or exc_name,
            }
        )
        self.backend_id._on_job_failed(
            exc_name=exc_name, exc_message=exc_message, **values
        )
