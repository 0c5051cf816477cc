"""Generic fulfilment: signed outbound messages received over real HTTP, and
the published schema's example."""

import json
from pathlib import Path

from odoo.tests import BaseCase, tagged

from simulator.testing import Receiver

from ..adapters.generic import GenericAdapter
from ..adapters.records import FulfilmentLine, FulfilmentRequest

SCHEMAS = Path(__file__).parents[1] / "schemas"
SECRET = "generic_webhook_secret"


@tagged("post_install", "-at_install")
class TestGenericFulfilment(BaseCase):
    def setUp(self):
        super().setUp()
        self.receiver = Receiver().start()
        self.addCleanup(self.receiver.stop)
        self.adapter = GenericAdapter(
            {"webhook_secret": SECRET, "fulfilment_url": self.receiver.url}
        )
        self.request = FulfilmentRequest(
            order_ref="G-1",
            lines=(FulfilmentLine("L1", 2),),
            tracking_number="1Z9",
            tracking_company="UPS",
            notify_customer=True,
            shipment_ref="42",
            order_fully_shipped=True,
        )

    def _received(self):
        (received,) = self.receiver.requests
        self.receiver.requests.clear()
        headers = received["headers"]
        # Verified exactly as we verify the deliveries we receive.
        self.adapter.verify_webhook(headers, received["body"])
        return headers, json.loads(received["body"])

    def test_shipment_is_a_signed_post_the_receiver_can_verify(self):
        result = self.adapter.push_fulfilment(self.request)
        self.assertEqual(result.fulfilment_refs, ("42",))
        headers, body = self._received()
        self.assertEqual(headers["X-Channel-Topic"], "fulfilment/shipped")
        self.assertEqual(body["id"], "42")
        self.assertEqual(body["lines"], [{"line_id": "L1", "quantity": 2}])
        self.assertEqual(body["tracking"]["number"], "1Z9")
        self.assertTrue(body["order_fully_shipped"])
        first_event = headers["X-Channel-Event-Id"]
        # The same message again keeps its event id; a tracking change does not.
        self.adapter.push_fulfilment(self.request)
        self.assertEqual(self._received()[0]["X-Channel-Event-Id"], first_event)
        changed = FulfilmentRequest(**{**vars(self.request), "tracking_number": "2"})
        self.adapter.update_fulfilment_tracking("42", changed)
        headers, body = self._received()
        self.assertNotEqual(headers["X-Channel-Event-Id"], first_event)
        self.assertEqual(body["tracking"]["number"], "2")
        self.adapter.cancel_fulfilment("42")
        headers, body = self._received()
        self.assertEqual(
            (headers["X-Channel-Topic"], body), ("fulfilment/cancelled", {"id": "42"})
        )

    def test_tampered_body_fails_verification(self):
        self.adapter.push_fulfilment(self.request)
        (received,) = self.receiver.requests
        with self.assertRaises(Exception):  # noqa: B017, PT027
            self.adapter.verify_webhook(received["headers"], received["body"] + b" ")

    def test_schema_example_matches_what_is_sent(self):
        schema = json.loads((SCHEMAS / "generic_fulfilment.schema.json").read_text())
        self.adapter.push_fulfilment(self.request)
        _headers, body = self._received()
        self.assertEqual(set(body), set(schema["properties"]))
        self.assertEqual(set(schema["required"]), set(body))
        (example,) = schema["examples"]
        self.assertEqual(set(example), set(body))
