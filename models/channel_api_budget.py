import math
import time
from contextlib import contextmanager

from odoo import api, fields, models, sql_db

from ..adapters.exceptions import ChannelBudgetWaitError
from ..adapters.redaction import get_logger
from ..adapters.transport import MAX_WAIT_IN_PLACE, clamp_wait
from ..sql import queries

_logger = get_logger(__name__)

# Share of the channel's bucket each priority leaves to the ones above it:
# fulfilments never take the last 10 % (kept for orders), stock never the
# last 20 % (kept for orders and fulfilments), the catalogue never the last 40 %.
PRIORITY_FLOORS = {"orders": 0.0, "fulfilment": 0.1, "stock": 0.2, "catalog": 0.4}
# Longest every worker of the account is held back by one 429's Retry-After:
# a longer wait asked for (or a broken `inf`) is left to the retry of the job
# that met it, not imposed on every flow of the account.
MAX_BLOCK_SECONDS = 300


class ChannelApiBudget(models.Model):
    """The rate-limit budget of one channel account, shared by every worker.

    A channel that meters calls states its bucket in each response
    (`transport.BucketStatus`); it is written here on a separate, autocommitted
    cursor so that every worker sees it at once, and read before each call to
    wait for the refill instead of running the bucket dry. Lower priorities keep a floor
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
    blocked_until = fields.Float(
        readonly=True,
        help="time.time() before which no call is made: the channel answered "
        "429 with a Retry-After (seconds).",
    )

    _backend_unique = models.UniqueIndex("(backend_id)")

    @api.model
    def _for_backend(self, backend, priority, clock=time.time, sleep=time.sleep):
        """The budget object an adapter calls before and after each request."""
        return SharedBudget(self.env.registry, backend.id, priority, clock, sleep)


class SharedBudget:
    """`before(cost)` waits while the account is blocked or the shared bucket
    is too low for this priority; `after(status)` records the bucket the
    channel reported, `throttled(retry_after)` a wait it asked for."""

    def __init__(self, registry, backend_id, priority, clock, sleep):
        self.registry = registry
        self.backend_id = backend_id
        self.floor_share = PRIORITY_FLOORS.get(priority, 0.0)
        self.clock = clock
        self.sleep = sleep
        self.waited = 0.0

    def before(self, cost):
        """Wait for this call's turn, then take its `cost` from the shared
        bucket: while the account is blocked (another worker was told to
        retry after a while), then until the bucket, refilled since last
        measured, covers `cost` above this priority's floor. The turn is
        reserved under a row lock, so workers of one account queue behind
        each other at the restore rate instead of all seeing the same
        points. A wait longer than MAX_WAIT_IN_PLACE raises
        `ChannelBudgetWaitError` (nothing reserved)."""
        with self._cursor() as cr:
            row = queries.budget_read(cr, self.backend_id, lock=True)
            if not row:
                return
            now = self.clock()
            blocked, refill = self._waits(row, cost, now)
            self._check_wait(blocked + refill)
            maximum, available, rate, measured_at, _blocked_until = row
            if cost and rate and rate > 0:
                start = now + blocked + refill
                level = min(maximum, available + (start - measured_at) * rate)
                queries.budget_take(cr, self.backend_id, level - cost, start)
        if blocked + refill > 0:
            self.waited += blocked + refill
            self.sleep(blocked + refill)

    def _waits(self, row, cost, now):
        """(seconds the account is still blocked, seconds of refill needed
        after that) for a call of `cost` at `now`."""
        maximum, available, rate, measured_at, blocked_until = row
        blocked = _measure((blocked_until or 0) - now)
        if not rate or rate <= 0:
            return blocked, 0.0
        start = now + blocked
        projected = min(maximum, available + (start - measured_at) * rate)
        needed = cost + self.floor_share * maximum - projected
        return blocked, _measure(needed / rate)

    def _check_wait(self, seconds):
        """Past MAX_WAIT_IN_PLACE the job retries after `seconds` instead."""
        if seconds > MAX_WAIT_IN_PLACE:
            raise ChannelBudgetWaitError(
                f"The channel account's rate limit asks to wait {seconds:.1f} s.",
                retry_after=clamp_wait(seconds),
            )

    def after(self, status):
        """Store the bucket a response reported (`transport.BucketStatus`,
        None when the channel states none)."""
        if not status:
            return
        with self._cursor() as cr:
            queries.budget_report(
                cr,
                self.backend_id,
                maximum=_measure(status.maximum),
                available=_measure(status.available),
                restore_rate=_measure(status.restore_rate),
                measured_at=self.clock(),
            )

    def throttled(self, retry_after):
        """Record that the channel asked to wait `retry_after` seconds (429):
        every worker's next `before` waits until then, at most
        MAX_BLOCK_SECONDS from now (an absurd or unreadable value blocks
        nobody for long)."""
        retry_after = min(_measure(retry_after), MAX_BLOCK_SECONDS)
        if not retry_after:
            return
        with self._cursor() as cr:
            queries.budget_block(cr, self.backend_id, self.clock() + retry_after)

    @contextmanager
    def _cursor(self):
        """Workers writing the account's row at once wait for each other and
        the last report wins, where REPEATABLE READ would fail one of them.
        Its commits do not wait for the disk: a measure lost in a crash is
        stated again by the next answer, and a paced call commits twice."""
        with read_committed_cursor(self.registry) as cr:
            if isinstance(cr, sql_db.Cursor):
                queries.set_async_commit(cr)
            yield cr

    def _read(self):
        with self._cursor() as cr:
            return queries.budget_read(cr, self.backend_id)


def _measure(value):
    """A channel's number as a finite float >= 0 (0 when absurd or absent):
    NaN, infinities and negatives never reach a division or a sleep."""
    try:
        value = float(value or 0)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return value if math.isfinite(value) and value > 0 else 0.0


@contextmanager
def read_committed_cursor(registry):
    """A cursor of its own, READ COMMITTED, committed on exit: for rows
    every worker shares (budgets, tokens), written outside the job's
    transaction. A test cursor (HttpCase) is mid-transaction: kept as is."""
    with registry.cursor() as cr:
        if isinstance(cr, sql_db.Cursor):
            queries.set_read_committed(cr)
        yield cr
