"""Test helpers shared by the simulator's tests and the addon's: a fake
monotonic clock, request shortcuts, and a webhook receiver on loopback."""

import threading
import time

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from .server import QuietHandler

TOKEN = "shpat_sim_token"
WOO_AUTH = ("ck_sim", "cs_sim")


class FakeClock:
    """Monotonic seconds that only move when a test says so."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def graphql(sim, query, variables=None, token=TOKEN, version="2026-07"):
    response = requests.post(
        f"{sim.base_url}/admin/api/{version}/graphql.json",
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": token},
        timeout=10,
    )
    return response


def woo(sim, method, route, **kwargs):
    kwargs.setdefault("auth", WOO_AUTH)
    return requests.request(
        method, f"{sim.base_url}/wp-json/wc/v3/{route}", timeout=10, **kwargs
    )


class Receiver:
    """A webhook endpoint: records requests, answers `statuses` in turn."""

    def __init__(self):
        self.requests = []
        self.statuses = []
        self.delay = 0.0
        self.lock = threading.Condition()
        self.server = make_server(
            "127.0.0.1", 0, self._app, threaded=True, request_handler=QuietHandler
        )
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_port}/hooks"

    def _app(self, environ, start_response):
        request = Request(environ)
        body = request.get_data()
        with self.lock:
            status = self.statuses.pop(0) if self.statuses else 200
            delay = self.delay
        time.sleep(delay)
        with self.lock:
            self.requests.append({"headers": dict(request.headers), "body": body})
            self.lock.notify_all()
        return Response("ok", status=status)(environ, start_response)

    def wait_for(self, count, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"only {len(self.requests)} of {count} requests"
                self.lock.wait(left)
            return list(self.requests)
