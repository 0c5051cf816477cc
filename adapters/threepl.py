"""The `threepl` provider: a warehouse partner that ships for Odoo.

Odoo POSTs fulfilment requests to `<base URL>/requests`; the partner answers
with its id for it and sends shipment confirmations and stock snapshots to
the webhook endpoint. Both ways are signed as the generic channel signs
(`generic.signed_message`, shared secret), and the request id is the
`X-Channel-Event-Id`: a partner acknowledges a request id it already holds
without shipping it twice. A partner that lists its shipments
(`GET <base URL>/shipments?since=...`) allows a reconciliation pull.
"""

import json
from datetime import timezone
from urllib.parse import quote

from .exceptions import ChannelAuthError, ChannelPayloadError
from .generic import GenericAdapter, signed_headers
from .handoff import (
    FLOW_HANDOFF,
    TOPIC_CANCEL,
    TOPIC_REQUEST,
    TOPIC_SHIPMENT,
    TOPIC_STOCK_SNAPSHOT,
    parse_cancel_answer,
    parse_shipment,
    parse_shipment_page,
    parse_stock_snapshot,
)
from .webhooks import WebhookDelivery, load_json_object

THREEPL_TOPIC_FLOWS = {
    TOPIC_SHIPMENT: FLOW_HANDOFF,
    TOPIC_STOCK_SNAPSHOT: FLOW_HANDOFF,
}
RESOURCE_KEYS = {TOPIC_SHIPMENT: "request_id", TOPIC_STOCK_SNAPSHOT: "snapshot_id"}


class ThreePLAdapter(GenericAdapter):
    """Requests out, confirmations and snapshots in, one shared secret."""

    code = "threepl"
    topic_flows = THREEPL_TOPIC_FLOWS
    order_payload_topics = frozenset()
    refund_payload_topics = frozenset()
    status_actions = {}
    # Most pages of shipments one reconciliation reads.
    max_shipment_pages = 50

    def test_connection(self):
        """A partner is usable with a URL to send to and a signing secret."""
        if not self.config.get("webhook_secret"):
            raise ChannelAuthError("No signing secret is configured.")
        if not self.config.get("base_url"):
            raise ChannelPayloadError("No partner URL is configured.")
        return "Warehouse partner: requests are signed with the shared secret."

    def parse_webhook(self, headers, body):
        """Override of `GenericAdapter`: the resource is the request (or the
        snapshot) the body names."""
        delivery = super().parse_webhook(headers, body)
        key = RESOURCE_KEYS.get(delivery.topic)
        ref = delivery.payload.get(key) if key else None
        return WebhookDelivery(
            topic=delivery.topic,
            dedupe_key=delivery.dedupe_key,
            delivery_id=delivery.delivery_id,
            flow=delivery.flow,
            resource_ref=str(ref) if ref is not None else None,
            channel_timestamp=delivery.channel_timestamp,
            headers=delivery.headers,
            payload=delivery.payload,
        )

    def parse_shipment(self, payload):
        """Override of `ChannelAdapter`: see `handoff.parse_shipment`."""
        return parse_shipment(payload)

    def parse_stock_snapshot(self, payload):
        """Override of `ChannelAdapter`: see `handoff`."""
        return parse_stock_snapshot(payload)

    def send_fulfilment_request(self, request):
        """Override of `ChannelAdapter`: POST the signed request; the
        partner's id for it (its answer's `id`)."""
        body = request.to_json()
        response = self.call_with_backoff(
            self._request_once,
            "POST",
            self._url("requests"),
            data=body,
            headers=self._signed_headers(TOPIC_REQUEST, request.request_ref, body),
        )
        answer = load_json_object(response.content)
        ref = answer.get("id")
        if not isinstance(ref, str | int) or isinstance(ref, bool) or ref == "":
            raise ChannelPayloadError("The partner's answer has no request `id`.")
        return str(ref)

    def cancel_fulfilment_request(self, request_ref):
        """Override of `ChannelAdapter`: POST the signed cancel request to
        `<base URL>/requests/<request id>/cancel`."""
        body = json.dumps({"request_id": request_ref}, separators=(",", ":")).encode()
        response = self.call_with_backoff(
            self._request_once,
            "POST",
            self._url(f"requests/{quote(request_ref, safe='')}/cancel"),
            data=body,
            headers=self._signed_headers(TOPIC_CANCEL, f"cancel:{request_ref}", body),
        )
        return parse_cancel_answer(load_json_object(response.content))

    def fetch_shipments_since(self, since):
        """Override of `ChannelAdapter`: every shipment the partner confirmed
        at or after `since`, all pages read."""
        shipments, cursor = [], None
        for _page in range(self.max_shipment_pages):
            params = {"since": since.astimezone(timezone.utc).isoformat()}
            if cursor:
                params["cursor"] = cursor
            response = self.call_with_backoff(
                self._request_once, "GET", self._url("shipments"), params=params
            )
            page, cursor = parse_shipment_page(load_json_object(response.content))
            shipments += page
            if not cursor:
                return shipments
        raise ChannelPayloadError(
            f"The partner lists more than {self.max_shipment_pages} pages of "
            "shipments; stopped reading."
        )

    def _signed_headers(self, topic, event_id, body, now=None):
        """Headers of an outbound message, signed as inbound ones are."""
        secret = self.config.get("webhook_secret") or ""
        return signed_headers(topic, event_id, body, secret, now)

    def _request_once(self, method, url, **kwargs):
        # A partner states no bucket: the account's shared budget only holds
        # the Retry-After another worker was given, which this call waits out.
        budget = self.config.get("budget")
        if budget:
            budget.before(0)
        return self.transport.request(method, url, **kwargs)

    def _url(self, path):
        return f"{(self.config.get('base_url') or '').rstrip('/')}/{path}"
