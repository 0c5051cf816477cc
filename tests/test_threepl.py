"""Warehouse partner (3PL) hand-off: the published messages, and over HTTP a
Shopify order's delivery handed to the simulated partner, its signed
confirmations validating the delivery through the real webhook endpoint, and
each shipment then fulfilled on Shopify."""

import json
from pathlib import Path

from odoo.tests import BaseCase, tagged

from odoo.addons.queue_job.job import DONE
from odoo.addons.queue_job.tests.common import trap_jobs

from ..adapters.exceptions import ChannelPayloadError
from ..adapters.fulfilment_generic import (
    parse_channel_fulfilment as parse_generic_channel_fulfilment,
)
from ..adapters.handoff import (
    HandoffRequest,
    ShipTo,
    SkuQuantity,
    parse_cancel_answer,
    parse_shipment,
    parse_stock_snapshot,
)
from ..adapters.records import FulfilmentLine
from ..adapters.threepl import ThreePLAdapter
from .common import generic_delivery
from .test_fulfilment import FulfilmentCase

ROOT = Path(__file__).resolve().parent
THREEPL_SECRET = "sim_threepl_secret"
JSON_KINDS = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "boolean": bool,
    "null": type(None),
}


def schema_errors(value, schema, where="body"):
    """The JSON Schema rules the 3PL schemas use, enough to check a body."""
    types = schema.get("type")
    types = [types] if isinstance(types, str) else types or []
    if types and not any(_is(value, kind) for kind in types):
        return [f"{where}: not {types}"]
    errors = []
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        errors += [
            f"{where}.{k} missing" for k in schema.get("required", ()) if k not in value
        ]
        if schema.get("additionalProperties") is False:
            errors += [f"{where}.{k} unknown" for k in value if k not in properties]
        for key, item in value.items():
            if key in properties:
                errors += schema_errors(item, properties[key], f"{where}.{key}")
    if isinstance(value, list):
        for index, item in enumerate(value):
            errors += schema_errors(item, schema.get("items", {}), f"{where}[{index}]")
    if isinstance(value, int) and value < schema.get("minimum", value):
        errors.append(f"{where}: below {schema['minimum']}")
    return errors


def _is(value, kind):
    """Whether `value` is of JSON Schema type `kind` (a bool is no integer)."""
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, JSON_KINDS[kind])


def load(folder, name):
    return json.loads((ROOT.parent / folder / name).read_text())


@tagged("post_install", "-at_install")
class TestThreePLMessages(BaseCase):
    """The published formats: examples follow the schemas, parsers read them."""

    def test_shipment_example_follows_its_schema_and_parses(self):
        payload = load("tests/fixtures", "threepl_shipment.json")
        schema = load("schemas", "threepl_shipment.schema.json")
        self.assertEqual(schema_errors(payload, schema), [])
        shipment = parse_shipment(payload)
        self.assertEqual(
            shipment.lines,
            (SkuQuantity("SIM-000001", 2), SkuQuantity("SIM-000002", 1)),
            "one SKU twice is one line",
        )
        self.assertEqual(shipment.request_ref, "WH/OUT/00012")
        self.assertEqual(shipment.shipped_at.isoformat(), "2026-11-02T16:40:00+00:00")
        self.assertEqual(parse_shipment(shipment.to_payload()), shipment)
        self.assertIn(
            "body.extra unknown", schema_errors(dict(payload, extra=1), schema)
        )

    def test_snapshot_example_follows_its_schema_and_parses(self):
        payload = load("tests/fixtures", "threepl_stock_snapshot.json")
        schema = load("schemas", "threepl_stock_snapshot.schema.json")
        self.assertEqual(schema_errors(payload, schema), [])
        snapshot = parse_stock_snapshot(payload)
        self.assertEqual(snapshot.quantities[1], SkuQuantity("SIM-000002", 0))
        self.assertEqual(snapshot.taken_at.hour, 22, "converted to UTC")

    def test_request_body_follows_its_schema(self):
        request = HandoffRequest(
            request_ref="WH/OUT/00012",
            order_ref="#1001",
            ship_to=ShipTo(name="Ada Lovelace", country="GB"),
            lines=(SkuQuantity("SIM-000001", 2),),
            carrier_service="Express",
        )
        schema = load("schemas", "threepl_request.schema.json")
        self.assertEqual(schema_errors(json.loads(request.to_json()), schema), [])

    def test_cancel_request_and_answers_follow_their_schema(self):
        schema = load("schemas", "threepl_cancel.schema.json")
        (example,) = schema["examples"]
        self.assertEqual(schema_errors(example, schema), [])
        self.assertIn(
            "body.extra unknown", schema_errors({**example, "extra": 1}, schema)
        )
        self.assertEqual(parse_cancel_answer({"status": "cancelled"}), "cancelled")
        self.assertEqual(
            parse_cancel_answer({"status": "too_late", "shipped": {"A": 1}}),
            "too_late",
        )
        with self.assertRaisesRegex(ChannelPayloadError, "status"):
            parse_cancel_answer({"status": "maybe"})

    def test_generic_channel_fulfilment_example_follows_its_schema(self):
        schema = load("schemas", "generic_channel_fulfilment.schema.json")
        (example,) = schema["examples"]
        self.assertEqual(schema_errors(example, schema), [])
        shipment = parse_generic_channel_fulfilment(example)
        self.assertEqual(
            (shipment.fulfilment_ref, shipment.order_ref, shipment.lines),
            ("SHIP-77", "G-2001", (FulfilmentLine("L1", 1),)),
        )
        self.assertEqual(shipment.tracking_company, "UPS")
        for body, message in (
            ({**example, "lines": []}, "lines"),
            ({**example, "lines": [{"line_id": "L1", "quantity": 0}]}, "at least 1"),
            ({k: v for k, v in example.items() if k != "order_id"}, "order_id"),
        ):
            with (
                self.subTest(message),
                self.assertRaisesRegex(ChannelPayloadError, message),
            ):
                parse_generic_channel_fulfilment(body)

    def test_bad_bodies_name_their_field(self):
        payload = load("tests/fixtures", "threepl_shipment.json")
        cases = (
            (dict(payload, lines=[]), "no lines"),
            (dict(payload, lines=[{"sku": "A", "quantity": 1.5}]), "whole number"),
            (dict(payload, lines=[{"sku": "A", "quantity": True}]), "whole number"),
            ({k: v for k, v in payload.items() if k != "request_id"}, "request_id"),
        )
        for body, message in cases:
            with (
                self.subTest(message),
                self.assertRaisesRegex(ChannelPayloadError, message),
            ):
                parse_shipment(body)
        with self.assertRaisesRegex(ChannelPayloadError, "at least 0"):
            parse_stock_snapshot(
                {"snapshot_id": "S", "quantities": [{"sku": "A", "quantity": -1}]}
            )

    def test_webhook_is_verified_as_generic_and_names_its_request(self):
        adapter = ThreePLAdapter({"webhook_secret": THREEPL_SECRET})
        body = (ROOT / "fixtures" / "threepl_shipment.json").read_bytes()
        headers, body = generic_delivery(
            body, THREEPL_SECRET, **{"X-Channel-Topic": "shipments/confirmed"}
        )
        adapter.verify_webhook(headers, body)
        delivery = adapter.parse_webhook(headers, body)
        self.assertEqual(
            (delivery.flow, delivery.resource_ref), ("handoff", "WH/OUT/00012")
        )
        self.assertEqual(adapter.topic_flow("orders/upsert"), None, "no orders")


@tagged("post_install", "-at_install")
class TestThreePLHandOff(FulfilmentCase):
    """Shopify order → delivery handed to the 3PL → confirmations → Shopify."""

    def setUp(self):
        super().setUp()
        self.threepl = self._prepare_backend(
            "threepl",
            api_url=f"{self.sim.base_url}/3pl",
            webhook_secret=THREEPL_SECRET,
            state="connected",
            warehouse_id=self.stock.warehouse_id.id,
            handoff_carrier_service="Standard",
            handoff_supports_pull=True,
        )
        self.sim.threepl.webhook_url = (
            f"{self.base_url()}/channel_connector/webhook/{self.threepl.id}"
        )
        self.product_1, self.product_2 = self.catalogue.values()

    # === HELPERS ===

    def _handed_order(self):
        """A Shopify order imported and its delivery handed to the partner."""
        summary, sale_order = self._import_order()
        picking = self._delivery(sale_order)
        request = self.env["channel.handoff.request"].search(
            [("picking_id", "=", picking.id)]
        )
        self.assertEqual(request.state, "sent", request.error)
        return summary, picking, request

    def _partner_sends(self, action):
        """Run `action` on the simulated partner (it POSTs to the webhook),
        then the jobs its deliveries enqueued (see `_act`)."""
        with trap_jobs() as trap:
            result = self._channel_sends(action)
        self._act(lambda: self._perform(trap.enqueued_jobs))
        return result

    def _act(self, action):
        """Run `action` and every job it enqueues (the Shopify fulfilment
        among them) with Shopify's webhooks held, then apply those."""

        def run():
            with trap_jobs() as trap:
                action()
                self._run_trapped(trap)

        self._pushing(run)

    def _perform(self, jobs):
        for job in jobs:
            records = job.recordset.with_env(self.env)
            getattr(records, job.method_name)(*job.args, **job.kwargs)

    def _ship(self, request, lines=None, **options):
        return self._partner_sends(
            lambda: self.sim.threepl.ship(request.request_ref, lines, **options)
        )

    # === TESTS ===

    def test_request_carries_the_order_address_lines_and_service(self):
        _summary, picking, request = self._handed_order()
        received = self.sim.threepl.requests[picking.name]
        self.assertEqual(received["lines"], {"SIM-000001": 2, "SIM-000002": 1})
        self.assertEqual(received["carrier_service"], "Standard")
        self.assertEqual(received["ship_to"]["name"], picking.partner_id.name)
        self.assertEqual(request.external_ref, received["id"])
        (sent,) = self.sim.threepl.received
        self.assertEqual(sent["headers"]["X-Channel-Event-Id"], picking.name)
        # A replayed job, or the partner meeting the request again, sends once.
        self.assertIn("already sent", request._job_send())
        request.state = "pending"
        self.assertTrue(request._send())
        self.assertEqual(len(self.sim.threepl.requests), 1)
        self.assertEqual(request.external_ref, received["id"])

    def test_no_partner_costs_no_query_and_a_new_one_still_triggers(self):
        Backend = self.env["channel.backend"]
        self.threepl.state = "draft"
        self.assertFalse(Backend._get_handoff_backends())
        with self.assertQueryCount(0):
            self.assertFalse(Backend._get_handoff_backends(), "cached")
        # Connecting the partner clears the cache: deliveries go to it again.
        self.threepl.state = "connected"
        self.assertEqual(Backend._get_handoff_backends(), self.threepl)
        _summary, picking, request = self._handed_order()
        self.assertEqual(list(self.sim.threepl.requests), [picking.name])
        self.threepl.action_archive()
        self.assertFalse(Backend._get_handoff_backends())

    def _cancel(self, picking):
        """Cancel `picking` in Odoo and run the jobs that causes."""
        with trap_jobs() as trap:
            picking.action_cancel()
        jobs = [job for job in trap.enqueued_jobs if job.method_name == "_job_cancel"]
        self.assertEqual(len(jobs), 1)
        self.assertEqual(jobs[0].channel, "root.channel_connector.orders")
        with self.allow_requests(all_requests=True):
            return jobs[0].recordset.with_env(self.env)._job_cancel()

    def test_delivery_cancelled_after_hand_off_cancels_the_request(self):
        _summary, picking, request = self._handed_order()
        self.assertIn("cancelled", self._cancel(picking))
        self.assertEqual(request.state, "cancelled")
        self.assertTrue(self.sim.threepl.requests[picking.name]["cancelled"])
        cancel = self.sim.threepl.received[-1]
        self.assertEqual(cancel["headers"]["X-Channel-Topic"], "fulfilment/cancel")
        self.assertEqual(json.loads(cancel["body"]), {"request_id": picking.name})
        with self.assertRaises(ValueError):
            self.sim.threepl.ship(request.request_ref)
        self.assertIn("nothing to cancel", request._job_cancel(), "a replay")

    def test_cancel_after_the_partner_shipped_is_an_exception(self):
        _summary, picking, request = self._handed_order()
        self.sim.threepl.webhook_url = "http://127.0.0.1:9/lost"
        self.sim.threepl.ship(request.request_ref)
        self.assertIn("sent", self._cancel(picking))
        self.assertEqual(request.state, "sent")
        (exception,) = self._exceptions(self.threepl, "fulfilment_failed")
        self.assertIn("had shipped it already", exception.name)
        self.assertEqual(exception.sale_order_id, picking.sale_id)

    def test_cancel_refused_by_the_partner_is_retried_from_its_exception(self):
        _summary, picking, request = self._handed_order()
        self.sim.state.inject("threepl", "5xx", 1, status=422)
        self.assertIn("failed", self._cancel(picking))
        self.assertEqual(request.state, "cancelling")
        (exception,) = self._exceptions(self.threepl, "fulfilment_failed")
        with self.allow_requests(all_requests=True):
            exception.action_retry()
        self.assertEqual(request.state, "cancelled")
        self.assertEqual(exception.state, "resolved")

    def test_send_policy_when_reserved_waits_for_the_goods(self):
        for product in (self.product_1, self.product_2):
            self.env["stock.quant"]._update_available_quantity(product, self.stock, -14)
        _summary, sale_order = self._import_order()
        picking = self._delivery(sale_order)
        self.assertEqual(picking.state, "confirmed")
        Request = self.env["channel.handoff.request"]
        self.assertFalse(Request.search([("picking_id", "=", picking.id)]))
        self.threepl.handoff_send_policy = "confirmed"
        self.assertTrue(self.threepl._handoff_sends(picking), "sent on confirmation")
        self.threepl.handoff_send_policy = "assigned"
        for product in (self.product_1, self.product_2):
            self.env["stock.quant"]._update_available_quantity(product, self.stock, 2)
        with trap_jobs() as trap:
            picking.action_assign()
        self.assertEqual(picking.state, "assigned")
        self.assertEqual([job.method_name for job in trap.enqueued_jobs], ["_job_send"])
        self.assertEqual(
            Request.search([("picking_id", "=", picking.id)]).state, "pending"
        )

    def test_partial_confirmation_backorder_then_rest_each_fulfilled(self):
        summary, picking, request = self._handed_order()
        self._ship(request, {"SIM-000001": 1}, tracking_number="T-1", carrier="UPS")
        self.assertEqual(picking.state, "done")
        self.assertEqual(
            {move.product_id: move.quantity for move in picking.move_ids},
            {self.product_1: 1},
        )
        backorder = picking.backorder_ids
        self.assertEqual(backorder.state, "assigned")
        self.assertEqual(backorder.handoff_request_id, request, "covered, not re-sent")
        self.assertEqual(
            len(self.sim.threepl.requests), 1, "a backorder is not re-sent"
        )
        self._ship(request, tracking_number="T-2", carrier="DHL Express")
        self.assertEqual(backorder.state, "done")
        self.assertEqual(request.state, "done")
        fulfillments = self._channel_order(summary)["fulfillments"]
        self.assertEqual(
            [self._shipped_lines(summary, f) for f in fulfillments],
            [{"SIM-000001": 1}, {"SIM-000001": 1, "SIM-000002": 1}],
        )
        self.assertEqual(
            [f["tracking"] for f in fulfillments],
            [
                {"number": "T-1", "company": "UPS"},
                {"number": "T-2", "company": "DHL Express"},
            ],
        )
        self.assertEqual(request.shipment_ids.mapped("picking_id"), backorder | picking)

    def test_duplicate_confirmation_changes_nothing(self):
        summary, _picking, request = self._handed_order()
        shipment = self._ship(request, {"SIM-000001": 1})
        # The partner retries with the same event id, then re-sends as new.
        self._partner_sends(lambda: self.sim.threepl.resend(shipment["shipment_id"]))
        self._partner_sends(
            lambda: self.sim.threepl.resend(shipment["shipment_id"], "evt-again")
        )
        events = self._events(self.threepl)
        self.assertEqual(len(events), 2)
        self.assertEqual(sorted(events.mapped("state")), ["done", "ignored"])
        self.assertEqual(sum(events.mapped("duplicates_prevented")), 1)
        self.assertEqual(len(request.shipment_ids), 1)
        self.assertEqual(len(self._channel_order(summary)["fulfillments"]), 1)
        self.assertEqual(request.picking_id.backorder_ids.state, "assigned")

    def test_confirmation_beyond_stock_is_an_exception_not_a_negative_quant(self):
        _summary, picking, request = self._handed_order()
        picking.do_unreserve()
        self.env["stock.quant"]._update_available_quantity(
            self.product_2, self.stock, -14
        )
        self._ship(request, {"SIM-000002": 1})
        (exception,) = self._exceptions(self.threepl, "fulfilment_failed")
        self.assertIn("Odoo holds 0.0", exception.name)
        self.assertEqual(picking.state, "confirmed")
        self.assertFalse(request.shipment_ids)
        self.assertEqual(self._events(self.threepl).state, "failed")
        # Stock found: Retry applies the same confirmation.
        self.env["stock.quant"]._update_available_quantity(
            self.product_2, self.stock, 1
        )
        self._act(exception.action_retry)
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(picking.state, "done")

    def test_reconciliation_pull_applies_a_lost_confirmation_once(self):
        summary, picking, request = self._handed_order()
        self.sim.threepl.webhook_url = "http://127.0.0.1:9/lost"
        self.sim.threepl.ship(request.request_ref)
        self.assertFalse(self._events(self.threepl))
        with trap_jobs() as trap:
            self.assertIn("1 shipments", self.threepl._job_handoff_pull_shipments())
        self._act(lambda: self._perform(trap.enqueued_jobs))
        self.assertEqual(picking.state, "done")
        self.assertEqual(request.state, "done")
        self.assertEqual(len(self._channel_order(summary)["fulfillments"]), 1)
        self.assertEqual(
            self.threepl._job_handoff_pull_shipments(), "0 shipments to apply"
        )
        self.assertEqual(len(self._events(self.threepl)), 1)

    def test_stock_snapshot_difference_is_an_inventory_difference(self):
        self.threepl.stock_difference_tolerance = 1
        quantities = {"SIM-000001": 13, "SIM-000002": 11, "SIM-UNKNOWN": 1}
        self._partner_sends(lambda: self.sim.threepl.snapshot(quantities))
        (difference,) = self._exceptions(self.threepl, "inventory_difference")
        self.assertEqual(difference.product_id, self.product_2)
        self.assertIn(
            "Odoo has 14.0 on hand, the warehouse partner counts 11", difference.name
        )
        (unknown,) = self._exceptions(self.threepl, "missing_mapping")
        self.assertIn("SIM-UNKNOWN", unknown.name)
        quantities["SIM-000002"] = 14
        self._partner_sends(lambda: self.sim.threepl.snapshot(quantities))
        self.assertEqual(difference.state, "resolved")

    def test_partner_5xx_retries_the_job_and_loses_nothing(self):
        self.sim.state.inject("threepl", "503", 3)
        picking, job = self._ready_delivery_job()
        job = self._run_like_the_runner(job.uuid, attempts=3)
        self.assertEqual(job.state, DONE)
        self.assertEqual(job.retry, 2, "the first run was retried")
        self.assertEqual(list(self.sim.threepl.requests), [picking.name])
        request = self.env["channel.handoff.request"].search(
            [("picking_id", "=", picking.id)]
        )
        self.assertEqual(request.state, "sent")

    def test_forged_and_unknown_confirmations_change_nothing(self):
        body = {
            "shipment_id": "SHP-1",
            "request_id": "WH/OUT/99999",
            "lines": [{"sku": "SIM-000001", "quantity": 1}],
        }
        self.sim.threepl.secret = "forged"
        status = self._channel_sends(
            lambda: self.sim.threepl.send("shipments/confirmed", body, "evt-1")
        )
        self.assertEqual(status, 401)
        self.assertFalse(self._events(self.threepl))
        self.sim.threepl.secret = THREEPL_SECRET
        self._partner_sends(
            lambda: self.sim.threepl.send("shipments/confirmed", body, "evt-2")
        )
        self.assertEqual(self._events(self.threepl).state, "failed")
        (exception,) = self._exceptions(self.threepl, "validation")
        self.assertIn("WH/OUT/99999, which was not sent to it", exception.name)
        self.assertFalse(self.env["channel.handoff.shipment"].search([]))

    def _ready_delivery_job(self):
        """A delivery imported while the partner was off, then sent by
        *Send ready deliveries*: (picking, its stored send job)."""
        self.threepl.state = "draft"
        _summary, sale_order = self._import_order()
        self.threepl.state = "connected"
        self.threepl.action_handoff_send_ready()
        job = self.env["queue.job"].search(
            [("model_name", "=", "channel.handoff.request")]
        )
        return self._delivery(sale_order), job

    def test_partner_timeout_is_retried_and_sends_once(self):
        self.threepl.request_timeout = 1
        self.sim.state.inject("threepl", "timeout", 1, delay=2)
        picking, job = self._ready_delivery_job()
        job = self._run_like_the_runner(job.uuid, attempts=2)
        self.assertEqual(job.state, DONE)
        self.assertEqual(list(self.sim.threepl.requests), [picking.name])
        self.assertEqual(len(self.sim.threepl.received), 1, "one call got through")

    def test_partner_refusal_is_an_exception_whose_retry_sends(self):
        self.sim.state.inject("threepl", "5xx", 1, status=422)
        picking, job = self._ready_delivery_job()
        self._run_like_the_runner(job.uuid, attempts=1)
        request = self.env["channel.handoff.request"].search(
            [("picking_id", "=", picking.id)]
        )
        self.assertEqual(request.state, "failed")
        (exception,) = self._exceptions(self.threepl, "fulfilment_failed")
        self.assertIn("HTTP 422", exception.name)
        exception.action_retry()
        self.assertEqual(request.state, "sent")
        self.assertEqual(exception.state, "resolved")
