import io

from werkzeug.exceptions import RequestEntityTooLarge

from odoo import models
from odoo.http import request

from ..const import WEBHOOK_ROUTE

# How much of a chunked body is read at a time while counting it.
READ_SIZE = 64 * 1024


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _pre_dispatch(cls, rule, args):
        """Override of `base`: bound the body of a webhook delivery before Odoo
        parses or buffers it (the route's `max_content_length` is set now)."""
        super()._pre_dispatch(rule, args)
        if rule.rule == WEBHOOK_ROUTE:
            _bound_body(request.httprequest)


def _bound_body(httprequest):
    """Refuse (413) a body over the request's limit without reading it; read
    a chunked body (it has no length) at most one byte past the limit, and
    hand it on as a body of known length."""
    limit = httprequest.max_content_length
    environ = httprequest.environ
    length = httprequest.content_length
    if length is not None:
        if length > limit:
            raise RequestEntityTooLarge()
        return
    if not environ.get("wsgi.input_terminated"):
        return  # no length and not chunked: werkzeug reads no body at all
    stream, data = environ["wsgi.input"], bytearray()
    while len(data) <= limit:
        chunk = stream.read(min(READ_SIZE, limit + 1 - len(data)))
        if not chunk:
            break
        data += chunk
    if len(data) > limit:
        raise RequestEntityTooLarge()
    environ.update(
        {
            "wsgi.input": io.BytesIO(bytes(data)),
            "wsgi.input_terminated": False,
            "CONTENT_LENGTH": str(len(data)),
        }
    )
