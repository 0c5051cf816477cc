from odoo import http
from odoo.http import request

INSERT = "INSERT INTO channel_bench_floor_row (body, create_date) VALUES (%s, now())"


class BenchFloor(http.Controller):
    """The floor of `make bench-webhooks`: what any durable store of a
    delivery costs at least, one row inserted and committed, with the same
    route options as the webhook endpoint (public, POST, no session) and
    nothing else: no signature, no dedupe, no job. Benchmark only; never
    installed with the addon (bench/README.rst)."""

    @http.route(
        "/channel_bench_floor/store",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def store(self):
        """Insert the raw body; Odoo commits when the request ends."""
        request.env.cr.execute(INSERT, [request.httprequest.get_data()])
        return request.make_response("ok", headers=[("Content-Type", "text/plain")])
