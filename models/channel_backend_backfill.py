from datetime import timezone

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..const import DONE, FAILED, JOB_CHANNEL_ORDERS

# Below the webhook and reconciliation jobs of the orders channel: a backfill
# of a year of history never delays today's orders.
BACKFILL_PRIORITY = 50


class ChannelBackend(models.Model):
    """Bulk backfill: import the orders created since a date, one channel page
    per job, so memory stays flat whatever the history and progress shows on
    the backend after every page."""

    _inherit = "channel.backend"

    # === FIELDS ===

    backfill_since = fields.Datetime(
        string="Import orders created since",
        help="Start of the history the backfill imports.",
    )
    backfill_state = fields.Selection(
        [
            ("idle", "Not started"),
            ("running", "Running"),
            ("done", "Done"),
            ("cancelled", "Cancelled"),
            ("failed", "Failed"),
        ],
        default="idle",
        required=True,
        readonly=True,
        copy=False,
    )
    backfill_cursor = fields.Char(readonly=True, copy=False)
    backfill_pages = fields.Integer(
        readonly=True, copy=False, help="Pages imported: the number of the next one."
    )
    backfill_total = fields.Integer(
        readonly=True, copy=False, help="Orders the channel counted at the start."
    )
    backfill_processed = fields.Integer(readonly=True, copy=False)
    backfill_imported = fields.Integer(readonly=True, copy=False)
    backfill_failed = fields.Integer(
        readonly=True, copy=False, help="Orders waiting on an exception."
    )
    backfill_progress = fields.Float(compute="_compute_backfill_progress")
    backfill_started_at = fields.Datetime(readonly=True, copy=False)
    backfill_finished_at = fields.Datetime(readonly=True, copy=False)
    backfill_message = fields.Char(readonly=True, copy=False)

    # === COMPUTE METHODS ===

    @api.depends("backfill_processed", "backfill_total", "backfill_state")
    def _compute_backfill_progress(self):
        for backend in self:
            if backend.backfill_state == "done":
                backend.backfill_progress = 100.0
            elif backend.backfill_total:
                backend.backfill_progress = min(
                    100.0, 100.0 * backend.backfill_processed / backend.backfill_total
                )
            else:
                backend.backfill_progress = 0.0

    # === ACTION METHODS ===

    def action_start_backfill(self):
        for backend in self:
            backend._start_backfill()

    def action_cancel_backfill(self):
        """The page job under way finishes its page; no next page is queued."""
        self.filtered(lambda b: b.backfill_state == "running").write(
            {
                "backfill_state": "cancelled",
                "backfill_finished_at": fields.Datetime.now(),
                "backfill_message": self.env._("Cancelled by %s", self.env.user.name),
            }
        )

    # === BUSINESS METHODS ===

    def _start_backfill(self):
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
        if self.backfill_state == "running":
            raise UserError(self.env._("A backfill is already running."))
        total = self._get_adapter(priority="orders").count_orders_created_since(
            self.backfill_since.replace(tzinfo=timezone.utc)
        )
        self.write(
            {
                "backfill_state": "running",
                "backfill_cursor": False,
                "backfill_pages": 0,
                "backfill_total": total,
                "backfill_processed": 0,
                "backfill_imported": 0,
                "backfill_failed": 0,
                "backfill_started_at": fields.Datetime.now(),
                "backfill_finished_at": False,
                "backfill_message": False,
            }
        )
        self._enqueue_backfill_page()

    def _enqueue_backfill_page(self):
        self.ensure_one()
        page = self.backfill_pages
        return self.with_delay(
            channel=JOB_CHANNEL_ORDERS,
            priority=BACKFILL_PRIORITY,
            identity_key=self._identity_key("backfill", self.backfill_started_at, page),
            description=f"Backfill orders of {self.name}, page {page + 1}",
        )._job_backfill_orders(page, self.backfill_cursor or False)

    def _import_backfill_page(self, cursor):
        """Import one page and move the progress on. Each order imports in
        its own savepoint: a bad one counts as failed, with an exception to
        retry, and the others of the page are imported.

        :return: the next cursor, or None at the end of the history
        """
        adapter = self._get_adapter(priority="orders")
        orders, next_cursor = adapter.fetch_orders_created_since(
            self.backfill_since.replace(tzinfo=timezone.utc), cursor or None
        )
        Binding = self.env["channel.order.binding"]
        imported = failed = 0
        for order in orders:
            _binding, outcome = Binding._import_pulled_order(self, order)
            imported += outcome == DONE
            failed += outcome == FAILED
        self.write(
            {
                "backfill_cursor": next_cursor or False,
                "backfill_pages": self.backfill_pages + 1,
                "backfill_processed": self.backfill_processed + len(orders),
                "backfill_imported": self.backfill_imported + imported,
                "backfill_failed": self.backfill_failed + failed,
            }
        )
        return next_cursor

    # === JOBS ===

    def _job_backfill_orders(self, page, cursor):
        """Job (orders channel, low priority): one page of the backfill, then
        queue the next. A page already imported (a replayed job) or a backfill
        cancelled meanwhile ends here."""
        self.ensure_one()
        if self.backfill_state != "running":
            return f"skipped: backfill {self.backfill_state}"
        if page != self.backfill_pages:
            return "skipped: this page was already imported"
        with self._map_channel_errors():
            next_cursor = self._import_backfill_page(cursor)
        if next_cursor:
            self._enqueue_backfill_page()
        else:
            self.write(
                {
                    "backfill_state": "done",
                    "backfill_finished_at": fields.Datetime.now(),
                    "backfill_message": self.env._(
                        "%(processed)s orders read, %(imported)s imported, "
                        "%(failed)s waiting on an exception.",
                        processed=self.backfill_processed,
                        imported=self.backfill_imported,
                        failed=self.backfill_failed,
                    ),
                }
            )
        return f"{self.backfill_processed} of {self.backfill_total} orders read"

    def _on_backfill_failed(self, exc_name=None, exc_message=None, **values):
        """on_fail hook of the backfill job: stop, say why, record the exception."""
        self.write(
            {
                "backfill_state": "failed",
                "backfill_finished_at": fields.Datetime.now(),
                "backfill_message": exc_message or exc_name,
            }
        )
        self._on_job_failed(exc_name=exc_name, exc_message=exc_message, **values)
