import time

from odoo import api, fields, models

from ..adapters.redaction import get_logger
from ..sql import queries
from .channel_api_budget import read_committed_cursor

_logger = get_logger(__name__)

# A token is renewed when it has less than this left (seconds): a call
# started with it must not outlive it.
RENEW_MARGIN = 300
# pg_advisory_xact_lock(TOKEN_RENEWAL_LOCK, backend id): one renewal at a time.
TOKEN_RENEWAL_LOCK = 74_210_003


class ChannelAccessToken(models.Model):
    """The API token a channel account issued us for a while (an OAuth
    client credentials grant): shared by every worker, renewed before it
    expires. Managers may read it; only the connector's code writes it."""

    _name = "channel.access.token"
    _description = "Channel Access Token"
    _rec_name = "backend_id"

    backend_id = fields.Many2one(
        "channel.backend", required=True, ondelete="cascade", readonly=True
    )
    token = fields.Char(readonly=True)
    scope = fields.Char(readonly=True)
    expires_at = fields.Float(readonly=True, help="time.time() it expires at.")

    _backend_unique = models.UniqueIndex("(backend_id)")

    @api.model
    def _for_backend(self, backend, clock=time.time):
        """The token provider an adapter asks for its token."""
        return SharedToken(self.env.registry, backend.id, clock)


class SharedToken:
    """`get(fetch)` returns the account's token, fetched if there is none
    or it expires within RENEW_MARGIN; `renew(fetch, failed)` replaces a
    token the channel refused. Workers renewing at once make one request:
    the others wait on a lock and take the token it stored."""

    def __init__(self, registry, backend_id, clock):
        self.registry = registry
        self.backend_id = backend_id
        self.clock = clock

    def get(self, fetch):
        with self._cursor() as cr:
            token = self._read_valid(cr)
        return token or self.renew(fetch)

    def renew(self, fetch, failed=None):
        """A new token, unless another worker renewed since `failed` (or
        since the caller found none valid): then that one."""
        with self._cursor() as cr:
            queries.wait_lock(cr, TOKEN_RENEWAL_LOCK, self.backend_id)
            token = self._read_valid(cr)
            if token and token != failed:
                return token
            issued = fetch()
            queries.store_token(
                cr,
                self.backend_id,
                issued.token,
                issued.scope,
                self.clock() + issued.expires_in,
            )
            _logger.info(
                "Renewed the API token of backend %s (valid %d s)",
                self.backend_id,
                issued.expires_in,
            )
            return issued.token

    def _read_valid(self, cr):
        row = queries.read_token(cr, self.backend_id)
        if row and row[0] and (row[1] or 0) - RENEW_MARGIN > self.clock():
            return row[0]
        return None

    def _cursor(self):
        """A token another worker stored is seen as soon as it committed."""
        return read_committed_cursor(self.registry)
