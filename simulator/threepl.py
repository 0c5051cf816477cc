"""A warehouse partner (3PL) under `/3pl/`: takes signed fulfilment requests,
ships them after a delay or on demand (partially if asked), and sends signed
shipment confirmations and stock snapshots to the connector's webhook.

Messages are signed like the connector's generic channel: `X-Channel-Signature:
sha256=<hex HMAC-SHA256(secret, "<timestamp>.<event id>.<topic>." + body)>`.
A request is identified by its `request_id` (its X-Channel-Event-Id): sending
it again is acknowledged with the same partner id and ships nothing twice.

- POST /3pl/requests: 200 {"id", "status": "accepted", "duplicate"}; 401 for
  a bad signature; 400 for a body without request_id or lines.
- GET /3pl/shipments?since=<ISO>&cursor=<n>: {"shipments": [...], "next_cursor"}.
- POST /3pl/requests/<request_id>/cancel (signed, topic fulfilment/cancel):
  200 {"status": "cancelled"}, or {"status": "too_late", "shipped": {sku: n}}
  when some of it shipped; 404 for an unknown request. A cancelled request
  ships nothing more.
Faults: arm them for the API "threepl" (latency, timeout, 5xx, 429).
"""

import hashlib
import hmac
import json
import threading
from datetime import datetime, timezone

import requests
from werkzeug.wrappers import Response

from .util import iso_z

PREFIX = "/3pl/"
PAGE_SIZE = 50
CARRIERS = ("UPS", "DHL Express", "La Poste")


def sign(secret, timestamp, event_id, topic, body):
    """The generic channel's signature of one message."""
    message = f"{timestamp}.{event_id}.{topic}.".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class ThreePLWarehouse:
    """The partner's book: requests received, shipments made, stock held."""

    def __init__(self, state, secret="sim_threepl_secret"):
        self.state = state
        self.secret = secret
        self.webhook_url = None  # where confirmations and snapshots go
        self.ship_delay = None  # seconds before a request ships itself
        self.requests = {}  # request_id -> request (lines, shipped, id...)
        self.shipments = []  # every confirmation body, in order
        self.stock = {}  # sku -> units held
        self.received = []  # every POST /requests: headers and body
        self.sent = []  # every message sent: topic, status, body
        self._timers = []

    # === HTTP ===

    def handle(self, request):
        path = request.path[len(PREFIX) :]
        if path == "requests" and request.method == "POST":
            return self._receive_request(request)
        if path == "shipments" and request.method == "GET":
            return self._list_shipments(request)
        if (
            path.startswith("requests/")
            and path.endswith("/cancel")
            and request.method == "POST"
        ):
            return self._cancel_request(request, path[len("requests/") : -7])
        return _json({"error": "not found"}, 404)

    def _verified(self, request):
        """The body of a signed POST (recorded), or None if the signature
        does not match."""
        body = request.get_data()
        headers = request.headers
        with self.state.lock:
            self.received.append({"headers": dict(headers), "body": body})
        expected = sign(
            self.secret,
            headers.get("X-Channel-Timestamp", ""),
            headers.get("X-Channel-Event-Id", ""),
            headers.get("X-Channel-Topic", ""),
            body,
        )
        if not hmac.compare_digest(expected, headers.get("X-Channel-Signature", "")):
            return None
        return body

    def _cancel_request(self, request, request_id):
        """Cancel what is not shipped: `cancelled` when nothing was, else
        `too_late` with what left (the rest is not shipped either)."""
        if self._verified(request) is None:
            return _json({"error": "invalid signature"}, 401)
        with self.state.lock:
            record = self.requests.get(request_id)
            if record is None:
                return _json({"error": "unknown request"}, 404)
            record["cancelled"] = True
            shipped = {sku: qty for sku, qty in record["shipped"].items() if qty}
        if shipped:
            return _json({"status": "too_late", "shipped": shipped})
        return _json({"status": "cancelled"})

    def _receive_request(self, request):
        body = self._verified(request)
        if body is None:
            return _json({"error": "invalid signature"}, 401)
        payload = json.loads(body or b"{}")
        request_id = payload.get("request_id")
        if not request_id or not payload.get("lines"):
            return _json({"error": "request_id and lines are required"}, 400)
        with self.state.lock:
            known = self.requests.get(request_id)
            if known is None:
                known = self._accept(payload)
                if self.ship_delay is not None:
                    self._ship_later(request_id)
                duplicate = False
            else:
                duplicate = True
        return _json({"id": known["id"], "status": "accepted", "duplicate": duplicate})

    def _accept(self, payload):
        record = {
            "id": f"3PL-{self.state.new_id('threepl_request', 7000)}",
            "request_id": payload["request_id"],
            "order_ref": payload.get("order_ref"),
            "ship_to": payload.get("ship_to"),
            "carrier_service": payload.get("carrier_service"),
            "lines": {line["sku"]: line["quantity"] for line in payload["lines"]},
            "shipped": {},
        }
        self.requests[payload["request_id"]] = record
        return record

    def _list_shipments(self, request):
        since = request.args.get("since")
        start = int(request.args.get("cursor") or 0)
        with self.state.lock:
            matching = [
                shipment
                for shipment in self.shipments
                if not since or _parse(shipment["shipped_at"]) >= _parse(since)
            ]
        page = matching[start : start + PAGE_SIZE]
        more = start + PAGE_SIZE < len(matching)
        return _json(
            {"shipments": page, "next_cursor": str(start + PAGE_SIZE) if more else None}
        )

    # === WHAT THE PARTNER DOES ===

    def ship(self, request_id, lines=None, tracking_number=None, carrier=None):
        """Ship `lines` ({sku: units}; default: all that is left) of a request
        and send its confirmation; returns the confirmation body."""
        with self.state.lock:
            record = self.requests[request_id]
            if record.get("cancelled"):
                raise ValueError(f"Request {request_id} is cancelled")
            left = {
                sku: quantity - record["shipped"].get(sku, 0)
                for sku, quantity in record["lines"].items()
            }
            wanted = lines if lines is not None else left
            for sku, quantity in wanted.items():
                if quantity > left.get(sku, 0):
                    msg = f"{quantity} x {sku} asked, {left.get(sku, 0)} left"
                    raise ValueError(msg)
            number = self.state.new_id("threepl_shipment", 9000)
            shipment = {
                "shipment_id": f"SHP-{number}",
                "request_id": request_id,
                "lines": [
                    {"sku": sku, "quantity": quantity}
                    for sku, quantity in wanted.items()
                    if quantity
                ],
                "tracking_number": tracking_number or f"TRK{number:08d}",
                "carrier": carrier or CARRIERS[number % len(CARRIERS)],
                "shipped_at": iso_z(self.state.wall_clock()),
            }
            for sku, quantity in wanted.items():
                record["shipped"][sku] = record["shipped"].get(sku, 0) + quantity
                self.stock[sku] = self.stock.get(sku, 0) - quantity
            self.shipments.append(shipment)
        self.send("shipments/confirmed", shipment, f"evt-{shipment['shipment_id']}")
        return shipment

    def resend(self, shipment_id, event_id=None):
        """Send a confirmation again (a partner's retry: same event id by
        default; another one for a partner that re-sends as new)."""
        shipment = next(s for s in self.shipments if s["shipment_id"] == shipment_id)
        return self.send(
            "shipments/confirmed", shipment, event_id or f"evt-{shipment_id}"
        )

    def snapshot(self, quantities=None):
        """Send a stock snapshot (`quantities` {sku: units}, default: the
        partner's book); returns its body."""
        with self.state.lock:
            held = dict(self.stock if quantities is None else quantities)
            number = self.state.new_id("threepl_snapshot", 3000)
        body = {
            "snapshot_id": f"SNAP-{number}",
            "taken_at": iso_z(self.state.wall_clock()),
            "quantities": [{"sku": sku, "quantity": qty} for sku, qty in held.items()],
        }
        self.send("stock/snapshot", body, f"evt-SNAP-{number}")
        return body

    def send(self, topic, payload, event_id):
        """POST one signed message to the connector; returns the HTTP status."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        timestamp = datetime.now(timezone.utc).isoformat()
        headers = {
            "Content-Type": "application/json",
            "X-Channel-Topic": topic,
            "X-Channel-Event-Id": event_id,
            "X-Channel-Timestamp": timestamp,
            "X-Channel-Signature": sign(self.secret, timestamp, event_id, topic, body),
        }
        try:
            status = requests.post(
                self.webhook_url, data=body, headers=headers, timeout=30
            ).status_code
        except requests.RequestException as error:
            status = f"error: {error}"
        with self.state.lock:
            self.sent.append({"topic": topic, "status": status, "body": payload})
        return status

    def _ship_later(self, request_id):
        timer = threading.Timer(self.ship_delay, self.ship, [request_id])
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def stop(self):
        for timer in self._timers:
            timer.cancel()


def _parse(value):
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _json(payload, status=200, headers=None):
    return Response(
        json.dumps(payload),
        status=status,
        headers=headers or {},
        mimetype="application/json",
    )
