import psycopg2

from odoo import api, fields, models

from ..adapters.redaction import get_logger
from ..sql import queries

_logger = get_logger(__name__)

FLOWS = [
    ("orders", "Orders"),
    ("stock", "Stock"),
    ("catalog", "Catalogue"),
    ("order_pull", "Reconciliation pull"),
    ("catalogue_match", "Catalogue match"),
    ("stock_check", "Stock check"),
    ("webhooks", "Webhook subscriptions"),
    ("connection", "Connection check"),
]


class ChannelSyncStatus(models.Model):
    """The run state of one flow of one backend: when it last ran, what it
    said, what was asked of its next run.

    Jobs write here, never on `channel.backend`: every job inserting a row
    that references the backend locks that row for key share, and a backend
    row written meanwhile makes those inserts fail to serialize.
    """

    _name = "channel.sync.status"
    _description = "Channel Sync Status"
    _order = "backend_id, flow, id"
    _rec_name = "flow"

    # === FIELDS ===

    backend_id = fields.Many2one(
        "channel.backend", required=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    flow = fields.Selection(FLOWS, required=True, readonly=True)
    last_run_at = fields.Datetime(
        string="Last run",
        readonly=True,
        help="When the flow last completed a run; for a pull, the end of the "
        "window it read.",
    )
    message = fields.Char(string="Last result", readonly=True)
    full_requested = fields.Boolean(
        readonly=True,
        help="A full run was asked for: the flow's next job does everything.",
    )

    _backend_flow_unique = models.UniqueIndex("(backend_id, flow)")

    # === BUSINESS METHODS ===

    @api.model
    def _for(self, backends, flow):
        """The (superuser) status records of `flow` for `backends`, one per
        backend, created when missing."""
        statuses_sudo = self.sudo().search(
            [("backend_id", "in", backends.ids), ("flow", "=", flow)]
        )
        missing = set(backends.ids) - set(statuses_sudo.backend_id.ids)
        if missing:
            statuses_sudo |= self.sudo().create(
                [{"backend_id": backend_id, "flow": flow} for backend_id in missing]
            )
        return statuses_sudo

    @api.model
    def _create_missing(self, backends):
        """Give `backends` a status record for every flow they lack."""
        existing = {
            (status.backend_id.id, status.flow)
            for status in self.sudo().search([("backend_id", "in", backends.ids)])
        }
        self.sudo().create(
            [
                {"backend_id": backend.id, "flow": flow}
                for backend in backends
                for flow, _label in FLOWS
                if (backend.id, flow) not in existing
            ]
        )

    @api.model
    def _stamp_after_commit(self, backends, flow, moment):
        """Move `flow`'s last run of `backends` forward to `moment`, after the
        commit, on a cursor of its own, skipping a row another transaction
        holds: many jobs stamp one flow, and two writing one row in their
        transactions would fail to serialize (and be retried whole)."""
        statuses_sudo = self._for(backends, flow)
        registry, status_ids = self.env.registry, statuses_sudo.ids

        @self.env.cr.postcommit.add
        def stamp():
            try:
                with registry.cursor() as cr:
                    queries.stamp_last_run(cr, status_ids, moment)
            except psycopg2.errors.SerializationFailure:
                _logger.debug("flow %s of %s not stamped: row busy", flow, backends)
