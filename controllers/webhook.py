import logging
from urllib.parse import urlencode

from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from odoo import http
from odoo.http import request

from ..const import WEBHOOK_ROUTE

_logger = logging.getLogger(__name__)


class ChannelWebhookController(http.Controller):
    @http.route(
        WEBHOOK_ROUTE,
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def receive_webhook(self, backend_id, **_kwargs):
        """Receive one channel delivery: verify, store durably, enqueue, answer.

        Unknown or disabled backend: 404. Oversized body: 413, from its
        Content-Length before anything is read. The rest is done by
        `channel.event._receive_delivery` in the request's transaction, which
        Odoo commits before the answer leaves.
        """
        backend_sudo = (
            request.env["channel.backend"].sudo()._get_webhook_receiver(backend_id)
        )
        if not backend_sudo:
            raise NotFound()
        Event = request.env["channel.event"].sudo()
        limit = Event._get_max_body_bytes()
        if (request.httprequest.content_length or 0) > limit:
            raise RequestEntityTooLarge()
        # A chunked body has no length to check first: `_receive_delivery`
        # refuses it once read (put a proxy body limit in front in production).
        # Cached: when Odoo replays the request after a serialization failure
        # (a concurrent twin committed first), the stream is already consumed.
        body = request.httprequest.get_data()
        if not body and request.httprequest.form:
            # Odoo parsed a form-encoded body into the route's parameters
            # before calling us: WooCommerce's `webhook_id=N` creation ping.
            body = urlencode(list(request.httprequest.form.items(multi=True))).encode()
        status, text = Event._receive_delivery(
            backend_sudo, request.httprequest.headers, body
        )
        _logger.debug("webhook for backend %s answered %s", backend_id, status)
        return request.make_response(
            text, headers=[("Content-Type", "text/plain")], status=status
        )
