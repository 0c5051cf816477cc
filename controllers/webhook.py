from urllib.parse import urlencode

from werkzeug.exceptions import NotFound

from odoo import http
from odoo.http import request

from ..adapters.redaction import get_logger
from ..const import PING_MAX_BYTES, WEBHOOK_ROUTE

_logger = get_logger(__name__)


def _max_body_bytes(_controller):
    """The body limit, set on the request before Odoo reads or parses the body
    (form and multipart bodies included, chunked ones while they stream)."""
    return request.env["channel.event"].sudo()._get_max_body_bytes()


class ChannelWebhookController(http.Controller):
    @http.route(
        WEBHOOK_ROUTE,
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
        max_content_length=_max_body_bytes,
    )
    def receive_webhook(self, backend_id, **_kwargs):
        """Receive one channel delivery: verify, store durably, enqueue, answer.

        Oversized body: 413 before anything is read or parsed (the route's
        `max_content_length`, enforced by `ir.http._pre_dispatch`). Unknown
        or disabled backend: 404. The rest is done by
        `channel.event._receive_delivery`, whose transaction Odoo commits
        before the answer leaves.
        """
        backend_sudo = (
            request.env["channel.backend"].sudo()._get_webhook_receiver(backend_id)
        )
        if not backend_sudo:
            raise NotFound()
        httprequest = request.httprequest
        # Cached: when Odoo replays the request after a serialization failure
        # (a concurrent twin committed first), the stream is already consumed.
        body = httprequest.get_data()
        if not body and (httprequest.content_length or 0) <= PING_MAX_BYTES:
            # Odoo parsed a tiny form-encoded body into the route's parameters
            # before calling us: WooCommerce's `webhook_id=N` creation ping.
            body = urlencode(list(httprequest.form.items(multi=True))).encode()
        event_sudo = request.env["channel.event"].sudo()
        event_sudo._begin_read_committed()
        status, text = event_sudo._receive_delivery(
            backend_sudo, httprequest.headers, body, peer=httprequest.remote_addr
        )
        _logger.debug("webhook for backend %s answered %s", backend_id, status)
        return request.make_response(
            text, headers=[("Content-Type", "text/plain")], status=status
        )
