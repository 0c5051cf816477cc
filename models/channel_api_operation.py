import psycopg2

from odoo import SUPERUSER_ID, api, fields, models

from ..adapters.redaction import get_logger
from .channel_api_budget import read_committed_cursor

_logger = get_logger(__name__)


class ChannelApiOperation(models.Model):
    """The rate limit of one operation of a channel that meters each
    operation on its own bucket (its documented rate and burst), and the
    429s it met: one row per backend and operation, for the operator."""

    _name = "channel.api.operation"
    _description = "Channel API Operation"
    _order = "backend_id, name, id"

    # === FIELDS ===

    backend_id = fields.Many2one(
        "channel.backend", required=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    name = fields.Char(string="Operation", required=True, readonly=True)
    rate = fields.Float(
        string="Requests per second",
        digits=(16, 4),
        readonly=True,
        help="The channel's documented default rate of the operation.",
    )
    burst = fields.Integer(readonly=True)
    throttled_count = fields.Integer(
        string="Throttled (429)",
        readonly=True,
        help="Answers that found the operation's bucket empty.",
    )
    last_throttled_at = fields.Datetime(string="Last throttled", readonly=True)
    paced_interval = fields.Float(
        string="Spacing after a 429 (s)",
        digits=(16, 2),
        readonly=True,
        help="One request's refill at the rate the channel stated: the "
        "operation's calls are spaced by it until its bucket is full again.",
    )

    _backend_operation_unique = models.UniqueIndex("(backend_id, name)")

    # === BUSINESS METHODS ===

    @api.model
    def _sync_for_backend(self, backend, plans):
        """One row per operation of `plans` ({operation: (rate, burst)})."""
        rows = {row.name: row for row in self.search([("backend_id", "=", backend.id)])}
        for name, (rate, burst) in plans.items():
            if name in rows:
                if (rows[name].rate, rows[name].burst) != (rate, burst):
                    rows[name].write({"rate": rate, "burst": burst})
            else:
                self.create(
                    {
                        "backend_id": backend.id,
                        "name": name,
                        "rate": rate,
                        "burst": burst,
                    }
                )

    @api.model
    def _recorder(self, backend):
        """What an adapter calls when an operation is throttled."""
        return OperationRecorder(self.env.registry, backend.id)


class OperationRecorder:
    """Counts an operation's 429s on a cursor of its own, committed at once
    (the job's transaction may roll back; the count is what happened)."""

    def __init__(self, registry, backend_id):
        self.registry = registry
        self.backend_id = backend_id

    def throttled(self, operation, interval):
        """`operation` met a 429; its calls are now spaced by `interval` s.
        A count lost to a concurrent writer is logged, never an error of the
        call that met the 429."""
        try:
            self._count(operation, interval)
        except psycopg2.Error as exc:
            _logger.info("429 of %s not counted: %s", operation, exc)

    def _count(self, operation, interval):
        with read_committed_cursor(self.registry) as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            Operation = env["channel.api.operation"]
            row = Operation.search(
                [("backend_id", "=", self.backend_id), ("name", "=", operation)]
            )
            if not row:
                row = Operation.create(
                    {"backend_id": self.backend_id, "name": operation}
                )
            row.write(
                {
                    "throttled_count": row.throttled_count + 1,
                    "last_throttled_at": fields.Datetime.now(),
                    "paced_interval": interval or 0.0,
                }
            )
