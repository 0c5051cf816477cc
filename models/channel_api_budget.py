import logging
import time

from odoo import api, fields, models

_logger = logging.getLogger(__name__)

# Share of the channel's bucket each priority leaves to the ones above it:
# stock never takes the last 20 % (kept for orders and fulfilments), the
# catalogue never the last 40 %.
PRIORITY_FLOORS = {"orders": 0.0, "stock": 0.2, "catalog": 0.4}
MAX_WAIT_SECONDS = 60


class ChannelApiBudget(models.Model):
    """The rate-limit budget of one channel account, shared by every worker.

    Each Shopify response states the bucket (maximum, currently available,
    restore rate); it is written here on a separate, autocommitted cursor so
    that every worker sees it at once, and read before each call to wait for
    the refill instead of running the bucket dry. Lower priorities keep a floor
    free for higher ones.
    """

    _name = "channel.api.budget"
    _description = "Channel API Budget"
    _order = "backend_id, id"
    _rec_name = "backend_id"

    backend_id = fields.Many2one(
        "channel.backend", required=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    maximum = fields.Float(readonly=True)
    available = fields.Float(readonly=True)
    restore_rate = fields.Float(readonly=True)
    measured_at = fields.Float(
        readonly=True, help="time.time() of the last measure (seconds)."
    )

    _backend_unique = models.UniqueIndex("(backend_id)")

    @api.model
    def _for_backend(self, backend, priority, clock=time.time, sleep=time.sleep):
        """The budget object an adapter calls before and after each request."""
        return SharedBudget(self.env.registry, backend.id, priority, clock, sleep)


class SharedBudget:
    """`before(cost)` waits while the shared bucket is too low for this priority;
    `after(status)` records the bucket the channel reported."""

    def __init__(self, registry, backend_id, priority, clock, sleep):
        self.registry = registry
        self.backend_id = backend_id
        self.floor_share = PRIORITY_FLOORS.get(priority, 0.0)
        self.clock = clock
        self.sleep = sleep
        self.waited = 0.0

    def before(self, cost):
        """Sleep until the bucket, refilled since last measured, covers `cost`
        above this priority's floor (at most MAX_WAIT_SECONDS)."""
        row = self._read()
        if not row or not row[2]:
            return
        maximum, available, rate, measured_at = row
        now = self.clock()
        projected = min(maximum, available + (now - measured_at) * rate)
        needed = cost + self.floor_share * maximum - projected
        if needed > 0:
            wait = min(needed / rate, MAX_WAIT_SECONDS)
            self.waited += wait
            self.sleep(wait)

    def after(self, status):
        """Store the bucket state a response reported."""
        if not status:
            return
        with self.registry.cursor() as cr:
            cr.execute(
                """
                INSERT INTO channel_api_budget
                       (backend_id, company_id, maximum, available, restore_rate,
                        measured_at, create_date, write_date)
                SELECT id, company_id, %(max)s, %(available)s, %(rate)s, %(at)s,
                       now() at time zone 'utc', now() at time zone 'utc'
                  FROM channel_backend WHERE id = %(backend)s
                ON CONFLICT (backend_id) DO UPDATE
                   SET maximum = EXCLUDED.maximum, available = EXCLUDED.available,
                       restore_rate = EXCLUDED.restore_rate,
                       measured_at = EXCLUDED.measured_at,
                       write_date = EXCLUDED.write_date
                """,
                {
                    "backend": self.backend_id,
                    "max": status.get("maximumAvailable") or 0,
                    "available": status.get("currentlyAvailable") or 0,
                    "rate": status.get("restoreRate") or 0,
                    "at": self.clock(),
                },
            )

    def _read(self):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT maximum, available, restore_rate, measured_at"
                " FROM channel_api_budget WHERE backend_id = %s",
                [self.backend_id],
            )
            return cr.fetchone()
