"""Fulfilment end to end: a Shopify order imported from the simulator, its
delivery validated in Odoo, the job reporting it over HTTP, and what the
simulated shop then holds (fulfillments, quantities, tracking)."""

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.queue_job.job import DONE
from odoo.addons.queue_job.tests.common import trap_jobs

from ..adapters.shopify import ShopifyAdapter
from .common import validate_in_full
from .test_simulator_orders import SimulatorOrderCase
from .test_stock_simulator import StockSimulatorCommon


class FulfilmentCase(SimulatorOrderCase):
    """A paid Shopify order of 2 x SIM-000001 and 1 x SIM-000002, in stock."""

    _run_like_the_runner = StockSimulatorCommon._run_like_the_runner

    def setUp(self):
        super().setUp()
        for product in self.catalogue.values():
            self.env["stock.quant"]._update_available_quantity(product, self.stock, 10)

    def _import_order(self, channel="shopify"):
        summary = self._import(
            channel,
            lines=[("SIM-000001", 2), ("SIM-000002", 1)],
            tax_rate="0",
            shipping=None,
        )
        sale_order = self._imported(summary)
        self.assertEqual(sale_order.state, "sale")
        return summary, sale_order

    def _channel_order(self, summary):
        return self.sim.state.shopify_orders[str(summary["id"])]

    def _validate(self, picking, quantities=None, tracking=None):
        """Validate `picking` with {product: done quantity} (all by default),
        a backorder for the rest; return the push jobs it enqueued."""
        if tracking:
            picking.carrier_tracking_ref = tracking
        for move in picking.move_ids:
            wanted = (quantities or {}).get(move.product_id, move.product_uom_qty)
            move.quantity = wanted
            move.picked = True
        with trap_jobs() as trap:
            picking.with_context(skip_backorder=True).button_validate()
        self.assertEqual(picking.state, "done")
        return [job for job in trap.enqueued_jobs if job.method_name == "_job_push"]

    def _run(self, jobs):
        """Run push jobs on this cursor, then apply the webhooks they cause."""
        return self._pushing(
            lambda: [job.recordset.with_env(self.env)._job_push() for job in jobs]
        )

    def _pushing(self, action):
        """Run `action`, which calls Shopify from this cursor, then apply the
        webhooks its calls caused: held until it ends, since the server
        thread that receives them shares the cursor."""

        def held():
            with self.sim.sender.paused():
                return action()

        return self._channel_acts(held)

    def _delivery(self, sale_order):
        return sale_order.picking_ids.filtered(
            lambda p: p.picking_type_code == "outgoing" and p.state != "done"
        )

    def _shipped_lines(self, summary, fulfillment):
        """{SKU: quantity} of one simulated fulfillment."""
        lines = {line["id"]: line for line in self._channel_order(summary)["lines"]}
        return {lines[ref]["sku"]: qty for ref, qty in fulfillment["lines"].items()}


@tagged("post_install", "-at_install")
class TestFulfilment(FulfilmentCase):
    def test_full_shipment_is_one_fulfilment_with_tracking_and_notice(self):
        summary, sale_order = self._import_order()
        picking = self._delivery(sale_order)
        jobs = self._validate(picking, tracking="1Z999AA10123456784")
        self.assertEqual(len(jobs), 1)
        self.assertEqual(
            jobs[0].identity_key,
            f"channel_connector.fulfilment.{self.shopify.id}.{picking.id}",
        )
        self.assertEqual(self._run(jobs)[0][:8], "reported")
        fulfillments = self._channel_order(summary)["fulfillments"]
        self.assertEqual(len(fulfillments), 1)
        (fulfillment,) = fulfillments
        self.assertEqual(
            self._shipped_lines(summary, fulfillment),
            {"SIM-000001": 2, "SIM-000002": 1},
        )
        self.assertEqual(fulfillment["tracking"], {"number": "1Z999AA10123456784"})
        self.assertTrue(fulfillment["notify_customer"])
        self.assertEqual(picking.channel_fulfilment_state, "done")
        self.assertEqual(picking.channel_fulfilment_ref, fulfillment["id"])
        self.assertTrue(picking.channel_fulfilment_ids.notify_customer)
        self.assertEqual(
            {line["fulfilled"] for line in self._channel_order(summary)["lines"]},
            {2, 1},
        )

    def test_buyer_is_not_notified_when_the_policy_says_so(self):
        self.shopify.fulfilment_notify_customer = False
        summary, sale_order = self._import_order()
        self._run(self._validate(self._delivery(sale_order)))
        (fulfillment,) = self._channel_order(summary)["fulfillments"]
        self.assertFalse(fulfillment["notify_customer"])
        self.assertEqual(fulfillment["tracking"], {}, "no tracking number, none sent")

    def test_backend_that_does_not_report_shipments_enqueues_nothing(self):
        self.shopify.export_fulfilments = False
        _summary, sale_order = self._import_order()
        picking = self._delivery(sale_order)
        self.assertEqual(self._validate(picking), [])
        self.assertFalse(picking.channel_fulfilment_ids)

    def test_partial_shipment_then_backorder_makes_two_fulfilments(self):
        summary, sale_order = self._import_order()
        first = self._delivery(sale_order)
        product_1, product_2 = (self.catalogue[ref] for ref in list(self.catalogue))
        self._run(self._validate(first, {product_1: 1, product_2: 0}, tracking="T-1"))
        backorder = self._delivery(sale_order)
        self.assertEqual(backorder.backorder_id, first)
        self._run(self._validate(backorder, tracking="T-2"))
        fulfillments = self._channel_order(summary)["fulfillments"]
        self.assertEqual(len(fulfillments), 2)
        self.assertEqual(
            [self._shipped_lines(summary, f) for f in fulfillments],
            [{"SIM-000001": 1}, {"SIM-000001": 1, "SIM-000002": 1}],
        )
        self.assertEqual(
            [f["tracking"]["number"] for f in fulfillments], ["T-1", "T-2"]
        )
        self.assertEqual(
            [first.channel_fulfilment_ref, backorder.channel_fulfilment_ref],
            [f["id"] for f in fulfillments],
        )

    def test_two_step_delivery_reports_once_at_the_last_step(self):
        self.stock.warehouse_id.delivery_steps = "pick_ship"
        summary, sale_order = self._import_order()
        pick = sale_order.picking_ids.filtered(
            lambda p: p.picking_type_code == "internal"
        )
        self.assertEqual(len(pick), 1, "a pick step, then the shipment")
        self.assertEqual(self._validate(pick), [], "the pick step is not reported")
        self.assertFalse(pick.channel_fulfilment_ids)
        ship = self._delivery(sale_order)
        self.assertEqual(ship.location_dest_id.usage, "customer")
        self._run(self._validate(ship, tracking="T-SHIP"))
        fulfillments = self._channel_order(summary)["fulfillments"]
        self.assertEqual(len(fulfillments), 1)
        self.assertEqual(ship.channel_fulfilment_ref, fulfillments[0]["id"])

    def test_replayed_job_and_second_validation_make_one_fulfilment(self):
        summary, sale_order = self._import_order()
        picking = self._delivery(sale_order)
        jobs = self._validate(picking)
        self._run(jobs)
        self.assertIn("already reported", self._run(jobs)[0])
        # A second validation path enqueues again: still one record, no push.
        with trap_jobs() as trap:
            self.env["channel.fulfilment"]._enqueue_for_pickings(picking)
        self.assertEqual(trap.enqueued_jobs, [])
        self.assertEqual(len(picking.channel_fulfilment_ids), 1)
        # The answer of the first push was lost (its transaction rolled back):
        # Shopify has the shipment, which counts as done.
        picking.channel_fulfilment_ids.write(
            {"state": "pending", "external_ref": False}
        )
        self.assertIn("fulfilled on the channel already", self._run(jobs)[0])
        self.assertEqual(len(self._channel_order(summary)["fulfillments"]), 1)
        self.assertEqual(picking.channel_fulfilment_state, "done")

    def test_channel_refusal_is_an_exception_whose_retry_pushes_again(self):
        summary, sale_order = self._import_order()
        picking = self._delivery(sale_order)
        jobs = self._validate(picking, tracking="T-RETRY")
        self.sim.state.inject("shopify", "5xx", 1, status=422)
        self.assertIn("failed", self._run(jobs)[0])
        exception = self._exceptions(self.shopify, "fulfilment_failed")
        self.assertEqual(len(exception), 1)
        self.assertIn(picking.name, exception.name)
        self.assertEqual(exception.sale_order_id, sale_order)
        self.assertEqual(picking.channel_fulfilment_state, "failed")
        self.assertFalse(self._channel_order(summary)["fulfillments"])
        binding = picking.channel_fulfilment_ids.order_binding_id
        self.assertEqual(binding.fulfilment_state, "failed")
        awaiting = self.env.ref("channel_connector.stock_picking_view_search_channel")
        self.assertIn("channel_fulfilment_awaiting", awaiting.arch)
        self.assertEqual(
            self.env["stock.picking"].search(
                [("channel_fulfilment_state", "in", ("pending", "failed"))]
            ),
            picking,
        )
        self.assertEqual(self.shopify.kpi_fulfilment_failures, 1)
        self._pushing(exception.with_user(self.ops_user).action_retry)
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(binding.fulfilment_state, "done")
        self.shopify.invalidate_recordset(["kpi_fulfilment_failures"])
        self.assertEqual(self.shopify.kpi_fulfilment_failures, 0)
        (fulfillment,) = self._channel_order(summary)["fulfillments"]
        self.assertEqual(picking.channel_fulfilment_ref, fulfillment["id"])
        self.assertEqual(fulfillment["tracking"]["number"], "T-RETRY")

    def test_stock_user_ships_but_cannot_mark_a_delivery_reported(self):
        stock_user = new_test_user(
            self.env,
            login="fulfil_stock",
            groups="base.group_user,stock.group_stock_user",
        )
        summary, sale_order = self._import_order()
        picking = self._delivery(sale_order)
        jobs = self._validate(picking.with_user(stock_user))
        self.assertEqual(len(jobs), 1)
        fulfilment = picking.channel_fulfilment_ids
        self.assertEqual(fulfilment.state, "pending")
        with self.assertRaises(AccessError):
            fulfilment.with_user(stock_user).write({"state": "done"})
        with self.assertRaises(AccessError):
            picking.with_user(stock_user).write(
                {
                    "channel_fulfilment_ids": [
                        Command.create(
                            {
                                "backend_id": self.shopify.id,
                                "company_id": self.env.company.id,
                                "order_binding_id": fulfilment.order_binding_id.id,
                                "state": "done",
                            }
                        )
                    ]
                }
            )
        # The job runs as the validating user, who may not read the backend.
        self._pushing(
            lambda: jobs[0].recordset.with_env(self.env(user=stock_user))._job_push()
        )
        self.assertEqual(fulfilment.state, "done")
        self.assertEqual(len(self._channel_order(summary)["fulfillments"]), 1)

    def test_risk_held_delivery_is_reported_only_once_released(self):
        summary = self._import(
            "shopify",
            lines=[("SIM-000001", 2)],
            tax_rate="0",
            shipping=None,
            high_risk=True,
        )
        sale_order = self._imported(summary)
        self.assertEqual(sale_order.state, "sale")
        picking = self._delivery(sale_order)
        self.assertTrue(picking.channel_risk_hold)
        with self.assertRaises(UserError):
            self._validate(picking)
        self.assertFalse(picking.channel_fulfilment_ids)
        picking.action_channel_release_hold()
        self._run(self._validate(picking, tracking="T-HELD"))
        (fulfillment,) = self._channel_order(summary)["fulfillments"]
        self.assertEqual(picking.channel_fulfilment_ref, fulfillment["id"])

    def _return(self, picking, quantity=None):
        """Validate a return of `picking` (all of it, or `quantity` of each
        line); return the push jobs it enqueued."""
        wizard = (
            self.env["stock.return.picking"]
            .with_context(active_id=picking.id, active_model="stock.picking")
            .create({})
        )
        for line in wizard.product_return_moves:
            line.quantity = quantity or line.move_id.quantity
        returned = self.env["stock.picking"].browse(
            wizard.action_create_returns()["res_id"]
        )
        jobs = self._validate(returned)
        self.assertFalse(returned.channel_fulfilment_ids, "a return is not shipped")
        return jobs

    def test_partial_return_of_a_reported_delivery_is_an_exception(self):
        summary, sale_order = self._import_order()
        picking = self._delivery(sale_order)
        self._run(self._validate(picking))
        self.assertEqual(self._return(picking, quantity=1), [])
        exception = self._exceptions(self.shopify, "fulfilment_failed")
        self.assertEqual(len(exception), 1)
        self.assertIn("part of delivery", exception.name)
        (fulfillment,) = self._channel_order(summary)["fulfillments"]
        self.assertEqual(fulfillment["status"], "SUCCESS")
        self.assertEqual(picking.channel_fulfilment_state, "done")

    def test_whole_return_cancels_the_channel_fulfilment(self):
        summary, sale_order = self._import_order()
        picking = self._delivery(sale_order)
        self._run(self._validate(picking))
        jobs = self._return(picking)
        self.assertEqual(len(jobs), 1)
        self.assertIn("cancelled", self._run(jobs)[0])
        (fulfillment,) = self._channel_order(summary)["fulfillments"]
        self.assertEqual(fulfillment["status"], "CANCELLED")
        self.assertEqual(
            {line["fulfilled"] for line in self._channel_order(summary)["lines"]}, {0}
        )
        self.assertEqual(picking.channel_fulfilment_state, "cancelled")
        self.assertIn("already reported", self._run(jobs)[0], "a replay is a no-op")

    def test_tracking_added_after_validation_updates_the_fulfilment(self):
        summary, sale_order = self._import_order()
        picking = self._delivery(sale_order)
        self._run(self._validate(picking))
        (fulfillment,) = self._channel_order(summary)["fulfillments"]
        self.assertEqual(fulfillment["tracking"], {})
        with trap_jobs() as trap:
            picking.carrier_tracking_ref = "LATE-1"
        (job,) = trap.enqueued_jobs
        self.assertIn("tracking updated", self._run([job])[0])
        self.assertEqual(fulfillment["tracking"], {"number": "LATE-1"})
        self.assertTrue(fulfillment["tracking_updates"][-1]["notify_customer"])
        self.assertEqual(picking.channel_fulfilment_ids.tracking_ref, "LATE-1")
        self.assertIn("already reported", self._run([job])[0])
        with trap_jobs() as trap:
            picking.carrier_tracking_ref = "LATE-1"
        self.assertEqual(trap.enqueued_jobs, [], "unchanged: nothing to send")

    def test_lines_assigned_to_another_location_are_moved_then_fulfilled(self):
        summary, sale_order = self._import_order()
        self.sim.book.fulfillment_orders.split(
            self._channel_order(summary), "1002", {"SIM-000002": 1}
        )
        picking = self._delivery(sale_order)
        self._run(self._validate(picking, tracking="T-MOVE"))
        (fulfillment,) = self._channel_order(summary)["fulfillments"]
        self.assertEqual(fulfillment["location_id"], "1001", "where Odoo shipped")
        self.assertEqual(
            self._shipped_lines(summary, fulfillment),
            {"SIM-000001": 2, "SIM-000002": 1},
        )
        fulfillment_orders = self._channel_order(summary)["fulfillment_orders"]
        self.assertEqual({fo["location"] for fo in fulfillment_orders}, {"1001"})

    def test_held_line_is_reported_with_its_reason_then_retried(self):
        summary, sale_order = self._import_order()
        book = self.sim.book.fulfillment_orders
        held = book.split(self._channel_order(summary), "1001", {"SIM-000002": 1})
        book.hold(held, "INCORRECT_ADDRESS", "check the street")
        picking = self._delivery(sale_order)
        self.assertIn("failed", self._run(self._validate(picking))[0])
        exception = self._exceptions(self.shopify, "fulfilment_failed")
        self.assertIn("ON_HOLD: INCORRECT_ADDRESS check the street", exception.name)
        self.assertFalse(self._channel_order(summary)["fulfillments"])
        book.release(held)
        self._pushing(exception.with_user(self.ops_user).action_retry)
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(picking.channel_fulfilment_state, "done")

    def test_more_fulfillment_orders_than_a_page_are_all_read(self):
        summary = self._import(
            "shopify", lines=[("SIM-000001", 7)], tax_rate="0", shipping=None
        )
        sale_order = self._imported(summary)
        order = self._channel_order(summary)
        for _split in range(6):
            self.sim.book.fulfillment_orders.split(order, "1001", {"SIM-000001": 1})
        self.assertEqual(len(order["fulfillment_orders"]), 7)
        self._run(self._validate(self._delivery(sale_order)))
        (fulfillment,) = order["fulfillments"]
        self.assertEqual(self._shipped_lines(summary, fulfillment), {"SIM-000001": 7})
        self.assertEqual(len(fulfillment["items"]), 7, "one item per fulfillment order")

    def test_throttled_storm_during_fulfilment_ends_with_the_job_done(self):
        """Shopify's THROTTLED answers (an empty cost bucket): each attempt
        waits for the refill, in place or by postponing, and never fails."""
        summary, sale_order = self._import_order()
        picking = self._delivery(sale_order)
        validate_in_full(picking)
        job_row = self.env["queue.job"].search(
            [("method_name", "=", "_job_push"), ("state", "=", "pending")]
        )
        attempts_per_job = ShopifyAdapter.throttle_retries + 1
        self.sim.state.inject("shopify", "throttled", attempts_per_job * 3)

        def storm_then_refill():
            job = self._run_like_the_runner(job_row.uuid, attempts=20)
            # The webhooks the fulfilment caused read the order again: not
            # from the bucket the storm left empty.
            self.sim.bucket.refund(1000)
            return job

        job = self._pushing(storm_then_refill)
        self.assertEqual(job.state, DONE)
        self.assertEqual(job.retry, 1, "only the attempt that succeeded counts")
        self.assertFalse(self.sim.state.faults.pending(), "the storm was met")
        self.assertEqual(len(self._channel_order(summary)["fulfillments"]), 1)
        self.assertFalse(self._exceptions(self.shopify, "fulfilment_failed"))

    def test_http_429_storm_during_fulfilment_ends_with_the_job_done(self):
        summary, sale_order = self._import_order()
        picking = self._delivery(sale_order)
        validate_in_full(picking)  # the job is stored, as in production
        job_row = self.env["queue.job"].search(
            [("method_name", "=", "_job_push"), ("state", "=", "pending")]
        )
        self.assertEqual(len(job_row), 1)
        # 429s through more attempts than queue_job's 5 retries.
        attempts_per_job = ShopifyAdapter.throttle_retries + 1
        self.sim.state.inject("shopify", "429", attempts_per_job * 7, retry_after=0.001)
        job = self._pushing(
            lambda: self._run_like_the_runner(job_row.uuid, attempts=10)
        )
        self.assertEqual(job.state, DONE)
        self.assertEqual(job.retry, 1, "only the attempt that succeeded counts")
        self.assertFalse(self.sim.state.faults.pending(), "the storm was met")
        self.assertEqual(len(self._channel_order(summary)["fulfillments"]), 1)
        self.assertEqual(picking.channel_fulfilment_state, "done")
        self.assertFalse(self._exceptions(self.shopify, "fulfilment_failed"))


@tagged("post_install", "-at_install")
class TestCarrierMapping(FulfilmentCase):
    def test_mapped_carrier_is_renamed_and_linked_unknown_keeps_its_name(self):
        self.env["channel.carrier.mapping"].create(
            {
                "backend_id": self.shopify.id,
                "carrier_name": "UPS Ground (Odoo)",
                "channel_carrier": "UPS",
                "tracking_url": "https://ups.example/track?n={number}",
            }
        )
        apply = self.env["channel.carrier.mapping"]._apply
        tracking = {"number": "1Z9", "company": "ups ground (odoo)", "url": None}
        self.assertEqual(
            apply(self.shopify, tracking),
            {
                "number": "1Z9",
                "company": "UPS",
                "url": "https://ups.example/track?n=1Z9",
            },
        )
        other = {"number": "7", "company": "Local courier", "url": None}
        self.assertEqual(apply(self.shopify, other), other)
        self.assertEqual(apply(self.woo, tracking), tracking, "mapped per backend")

    def test_tracking_without_a_carrier_sends_the_number_alone(self):
        summary, sale_order = self._import_order()
        picking = self._delivery(sale_order)
        self._run(self._validate(picking, tracking="NUM-ONLY"))
        (fulfillment,) = self._channel_order(summary)["fulfillments"]
        self.assertEqual(fulfillment["tracking"], {"number": "NUM-ONLY"})


@tagged("post_install", "-at_install")
class TestWooCommerceFulfilment(FulfilmentCase):
    def test_each_shipment_is_a_note_and_the_last_completes_the_order(self):
        summary, sale_order = self._import_order("woocommerce")
        order = self.sim.state.woo_orders[str(summary["id"])]
        first = self._delivery(sale_order)
        product_1, product_2 = (self.catalogue[ref] for ref in list(self.catalogue))
        jobs = self._validate(first, {product_1: 2, product_2: 0}, tracking="W-1")
        self.assertIn("reported", self._run(jobs)[0])
        (note,) = order["notes"]
        self.assertEqual(note["note"], "Shipped, tracking number W-1.")
        self.assertTrue(note["customer_note"], "the buyer is told per policy")
        self.assertNotEqual(order.get("woo_status"), "completed")
        self.assertIn("already reported", self._run(jobs)[0])
        self.assertEqual(len(order["notes"]), 1, "a replay adds no note")
        self.woo.fulfilment_notify_customer = False
        backorder = self._delivery(sale_order)
        self._run(self._validate(backorder, tracking="W-2"))
        self.assertEqual(order["woo_status"], "completed")
        self.assertFalse(order["notes"][-1]["customer_note"])
        (meta,) = order["meta_data"]
        self.assertEqual(
            [entry["tracking_number"] for entry in meta["value"]], ["W-1", "W-2"]
        )
        self.assertEqual(
            [first.channel_fulfilment_ref, backorder.channel_fulfilment_ref],
            [str(n["id"]) for n in order["notes"]],
        )
        # Tracking changed later: a new note, the shipment's entry updated.
        with trap_jobs() as trap:
            first.carrier_tracking_ref = "W-1-FIXED"
        self.assertIn("tracking updated", self._run(trap.enqueued_jobs)[0])
        self.assertIn("W-1-FIXED", order["notes"][-1]["note"])
        (meta,) = order["meta_data"]
        self.assertEqual(
            [entry["tracking_number"] for entry in meta["value"]],
            ["W-1-FIXED", "W-2"],
        )
