"""Inbound fulfilment over HTTP: orders shipped on the channel itself (a
Shopify fulfillment, a WooCommerce order completed there) close the Odoo
delivery through the real webhook endpoint; and sale lines in another unit
than the channel's map to the channel line quantities both ways."""

from odoo.tests import tagged

from odoo.addons.queue_job.exception import RetryableJobError

from ..adapters.records import ChannelShipment
from .test_fulfilment import FulfilmentCase
from .test_refunds import GenericRefundCommon


class ChannelFulfilmentCase(FulfilmentCase):
    def _fulfil_on_channel(self, summary, lines=None, tracking=None):
        return self._channel_acts(
            lambda: self.sim.scenario.fulfill_on_channel(
                summary["channel"], summary["id"], lines=lines, tracking=tracking
            )
        )

    def _open_delivery(self, sale_order):
        return sale_order.picking_ids.filtered(
            lambda p: (
                p.picking_type_code == "outgoing" and p.state not in ("done", "cancel")
            )
        )

    def _on_hand(self, product):
        self.env.flush_all()
        self.env.invalidate_all()
        return product.with_context(location=self.stock.id).qty_available


@tagged("post_install", "-at_install")
class TestChannelFulfilment(ChannelFulfilmentCase):
    def test_order_fulfilled_on_shopify_closes_the_odoo_delivery(self):
        summary, sale_order = self._import_order()
        picking = self._delivery(sale_order)
        product_1 = picking.move_ids.product_id.filtered(
            lambda p: p.default_code == "SIM-000001"
        )
        on_hand = self._on_hand(product_1)
        made = self._fulfil_on_channel(
            summary, tracking={"number": "CH-1", "company": "UPS"}
        )
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.carrier_tracking_ref, "CH-1")
        self.assertEqual(
            {m.product_id.default_code: m.quantity for m in picking.move_ids},
            {"SIM-000001": 2, "SIM-000002": 1},
        )
        self.assertEqual(self._on_hand(product_1), on_hand - 2)
        record = picking.channel_fulfilment_ids
        self.assertEqual(
            (record.origin, record.state, record.external_ref),
            ("channel", "done", made["id"]),
        )
        self.assertFalse(self._open_delivery(sale_order), "no backorder")
        self.assertEqual(
            len(self._channel_order(summary)["fulfillments"]), 1, "nothing sent back"
        )
        event = self._events(self.shopify, "fulfillments/create")
        self.assertEqual((event.state, event.res_id), ("done", sale_order.id))
        # A replay of the delivery changes nothing.
        event._channel_retry()
        self.assertEqual(event.state, "ignored")
        self.assertEqual(len(picking.channel_fulfilment_ids), 1)
        self.assertEqual(self._on_hand(product_1), on_hand - 2)

    def test_partial_fulfilment_leaves_a_backorder_and_tracking_follows(self):
        summary, sale_order = self._import_order()
        picking = self._delivery(sale_order)
        made = self._fulfil_on_channel(
            summary, lines=[("SIM-000001", 1)], tracking={"number": "CH-2"}
        )
        self.assertEqual(picking.state, "done")
        self.assertEqual(
            {m.product_id.default_code: m.quantity for m in picking.move_ids},
            {"SIM-000001": 1},
        )
        backorder = self._open_delivery(sale_order)
        self.assertEqual(backorder.backorder_id, picking)
        self.assertEqual(
            {m.product_id.default_code: m.product_uom_qty for m in backorder.move_ids},
            {"SIM-000001": 1, "SIM-000002": 1},
        )
        # Staff correct the tracking on Shopify: Odoo follows, sends nothing.
        self._channel_acts(
            lambda: self.sim.scenario.update_fulfillment_tracking(
                made["id"], {"number": "CH-2-FIXED"}
            )
        )
        self.assertEqual(picking.carrier_tracking_ref, "CH-2-FIXED")
        self.assertEqual(picking.channel_fulfilment_ids.tracking_ref, "CH-2-FIXED")
        (fulfillment,) = self._channel_order(summary)["fulfillments"]
        self.assertEqual(len(fulfillment["tracking_updates"]), 1, "Shopify's own")
        # The rest ships from Odoo: reported as the second fulfilment only.
        self._run(self._validate(backorder, tracking="ODOO-2"))
        fulfillments = self._channel_order(summary)["fulfillments"]
        self.assertEqual(
            [self._shipped_lines(summary, f) for f in fulfillments],
            [{"SIM-000001": 1}, {"SIM-000001": 1, "SIM-000002": 1}],
        )
        self.assertEqual(backorder.channel_fulfilment_ids.origin, "odoo")

    def test_fulfilment_cancelled_on_the_channel_after_it_applied(self):
        summary, sale_order = self._import_order()
        picking = self._delivery(sale_order)
        made = self._fulfil_on_channel(summary)
        self.assertEqual(picking.state, "done")
        self._channel_acts(lambda: self.sim.scenario.cancel_fulfillment(made["id"]))
        (exception,) = self._exceptions(self.shopify, "fulfilment_failed")
        self.assertIn("was cancelled on the channel", exception.name)
        self.assertEqual(exception.sale_order_id, sale_order)
        self.assertEqual(picking.channel_fulfilment_ids.state, "cancelled")
        self.assertEqual(picking.state, "done", "Odoo cannot tell if goods left")
        (event,) = self._events(self.shopify, "fulfillments/update")
        event._channel_retry()
        self.assertEqual(event.state, "ignored", "a replay records nothing more")
        self.assertEqual(len(self._exceptions(self.shopify, "fulfilment_failed")), 1)

    def test_fulfilment_odoo_pushed_is_not_applied_back(self):
        summary, sale_order = self._import_order()
        first = self._delivery(sale_order)
        product_1, product_2 = (self.catalogue[ref] for ref in list(self.catalogue))
        self._run(self._validate(first, {product_1: 1, product_2: 0}))
        echo = self._events(self.shopify, "fulfillments/create")
        self.assertEqual(echo.state, "ignored", "our own fulfilment echoed back")
        backorder = self._open_delivery(sale_order)
        self.assertEqual(backorder.state, "assigned", "left for Odoo to ship")
        self.assertEqual(len(self._channel_order(summary)["fulfillments"]), 1)

    def test_channel_fulfilment_waits_for_a_report_in_flight(self):
        summary, sale_order = self._import_order()
        first = self._delivery(sale_order)
        product_1, product_2 = (self.catalogue[ref] for ref in list(self.catalogue))
        jobs = self._validate(first, {product_1: 1, product_2: 0})
        # Staff ship the other line on Shopify while Odoo's report is queued.
        made = self.sim.scenario.fulfill_on_channel(
            "shopify", summary["id"], lines=[("SIM-000002", 1)], notify=False
        )
        adapter = self.shopify._get_adapter(priority="fulfilment")
        shipment = adapter.fetch_channel_fulfilment(
            ChannelShipment(made["id"], str(summary["id"]))
        )
        self.assertEqual(len(shipment.lines), 1)
        Fulfilment = self.env["channel.fulfilment"]
        with self.assertRaises(RetryableJobError):
            Fulfilment._apply_channel_shipment(self.shopify, shipment)
        self._run(jobs)
        self.assertEqual(first.channel_fulfilment_state, "done")
        _order, outcome = Fulfilment._apply_channel_shipment(self.shopify, shipment)
        self.assertEqual(outcome, "done")
        backorder = first.backorder_ids
        self.assertEqual(backorder.state, "done")
        self.assertEqual(
            {m.product_id: m.quantity for m in backorder.move_ids}, {product_2: 1}
        )
        rest = self._open_delivery(sale_order)
        self.assertEqual(
            {m.product_id: m.product_uom_qty for m in rest.move_ids}, {product_1: 1}
        )

    def test_shipment_beyond_stock_is_an_exception_not_a_negative_quant(self):
        summary, sale_order = self._import_order()
        picking = self._delivery(sale_order)
        picking.do_unreserve()
        product_2 = self.catalogue[list(self.catalogue)[1]]
        self.env["stock.quant"]._update_available_quantity(
            product_2, self.stock, -self._on_hand(product_2)
        )
        self.assertEqual(self._on_hand(product_2), 0)
        self._fulfil_on_channel(summary, tracking={"number": "CH-3"})
        (exception,) = self._exceptions(self.shopify, "fulfilment_failed")
        self.assertIn("Odoo holds 0.0", exception.name)
        self.assertEqual(exception.sale_order_id, sale_order)
        self.assertNotEqual(picking.state, "done")
        self.assertEqual(self._on_hand(product_2), 0, "no negative quant")
        self.assertFalse(picking.channel_fulfilment_ids)
        # Stock found: Retry applies the channel's fulfilment.
        self.env["stock.quant"]._update_available_quantity(product_2, self.stock, 1)
        self._channel_acts(exception.action_retry)
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.carrier_tracking_ref, "CH-3")

    def test_woocommerce_completed_on_the_channel_closes_the_delivery(self):
        summary, sale_order = self._import_order("woocommerce")
        picking = self._delivery(sale_order)
        self._fulfil_on_channel(summary)
        self.assertEqual(picking.state, "done")
        self.assertFalse(self._open_delivery(sale_order))
        record = picking.channel_fulfilment_ids
        self.assertEqual(
            (record.origin, record.external_ref),
            ("channel", f"completed:{summary['id']}"),
        )
        order = self.sim.state.woo_orders[str(summary["id"])]
        self.assertFalse(order.get("notes"), "no note sent back")
        # The next update of the completed order changes nothing.
        self._channel_acts(
            lambda: self.sim.scenario.update_order(
                "woocommerce", summary["id"], note="thanks"
            )
        )
        self.assertEqual(len(sale_order.picking_ids), 1)
        self.assertEqual(len(picking.channel_fulfilment_ids), 1)


@tagged("post_install", "-at_install")
class TestFulfilmentUnits(ChannelFulfilmentCase):
    """A sale line in dozens (its moves in units) is one channel unit per
    dozen: 12 units shipped report 1 on the channel, and 1 fulfilled on the
    channel validates 12 units."""

    def _order_in_dozens(self):
        summary = self._import("shopify", tax_rate="0", shipping=None)
        sale_order = self._imported(summary)
        sale_order.action_cancel()
        sale_order.action_draft()
        line = sale_order.order_line.filtered("channel_line_ref")
        line.product_uom_id = self.env.ref("uom.product_uom_dozen")
        line.product_uom_qty = 2
        self.env["stock.quant"]._update_available_quantity(
            line.product_id, self.stock, 30
        )
        sale_order.action_confirm()
        picking = self._open_delivery(sale_order)
        self.assertEqual(picking.move_ids.product_uom, line.product_id.uom_id)
        self.assertEqual(picking.move_ids.product_uom_qty, 24)
        return summary, sale_order, picking

    def test_units_shipped_report_the_channel_quantity(self):
        summary, sale_order, picking = self._order_in_dozens()
        product = picking.move_ids.product_id
        self._run(self._validate(picking, {product: 12}, tracking="DZ-1"))
        (fulfillment,) = self._channel_order(summary)["fulfillments"]
        self.assertEqual(self._shipped_lines(summary, fulfillment), {"SIM-000001": 1})
        self.assertEqual(self._open_delivery(sale_order).move_ids.product_uom_qty, 12)

    def test_channel_quantity_validates_the_units_it_stands_for(self):
        summary, sale_order, picking = self._order_in_dozens()
        self._fulfil_on_channel(summary, lines=[("SIM-000001", 1)])
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.move_ids.quantity, 12)
        self.assertEqual(self._open_delivery(sale_order).move_ids.product_uom_qty, 12)


@tagged("post_install", "-at_install")
class TestGenericChannelFulfilment(GenericRefundCommon):
    """The generic format's `orders/fulfilled` over the real endpoint."""

    def test_orders_fulfilled_validates_its_lines_once(self):
        for ref in ("SIM-000001", "SIM-000002"):
            product = self.env["product.product"].search([("default_code", "=", ref)])
            self.env["stock.quant"]._update_available_quantity(product, self.stock, 5)
        sale_order = self._sell_generic()
        picking = sale_order.picking_ids
        body = {
            "id": "SHIP-1",
            "order_id": "G-2001",
            "lines": [{"line_id": "L1", "quantity": 1}],
            "tracking": {"number": "G-TRK", "company": "UPS", "url": None},
        }
        event = self._deliver("orders/fulfilled", body)
        self.assertEqual(event.state, "done", event.error)
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.carrier_tracking_ref, "G-TRK")
        self.assertEqual(
            {m.product_id.default_code: m.quantity for m in picking.move_ids},
            {"SIM-000001": 1},
        )
        backorder = picking.backorder_ids
        self.assertEqual(
            {m.product_id.default_code: m.product_uom_qty for m in backorder.move_ids},
            {"SIM-000001": 1, "SIM-000002": 1},
        )
        # Sent again under a new event id: applied once.
        self._deliver("orders/fulfilled", body)
        events = self._events(self.generic, "orders/fulfilled")
        self.assertEqual(sorted(events.mapped("state")), ["done", "ignored"])
        self.assertEqual(backorder.state, "assigned")
        # More than the order holds is refused, naming why.
        self._deliver(
            "orders/fulfilled",
            {**body, "id": "SHIP-2", "lines": [{"line_id": "L1", "quantity": 5}]},
        )
        (exception,) = self._exceptions(self.generic, "fulfilment_failed")
        self.assertIn("no open delivery in Odoo holds that many", exception.name)
        self.assertEqual(backorder.state, "assigned")


@tagged("post_install", "-at_install")
class TestFulfilmentKits(ChannelFulfilmentCase):
    """A kit's sale line ships its components (as `mrp` does; it is not
    installed here, so the components' moves are made by hand): the channel
    hears of the whole kits they complete."""

    def _kit_delivery(self):
        summary, sale_order = self._import_order()
        picking = self._delivery(sale_order)
        product_1, product_2 = (self.catalogue[ref] for ref in list(self.catalogue))
        kit_move = picking.move_ids.filtered(lambda m: m.product_id == product_1)
        part_a, part_b = self.env["product.product"].create(
            [
                {
                    "name": f"Kit part {code}",
                    "default_code": f"KIT-{code}",
                    "type": "consu",
                    "is_storable": True,
                }
                for code in ("A", "B")
            ]
        )
        for part in (part_a, part_b):
            self.env["stock.quant"]._update_available_quantity(part, self.stock, 10)
        picking.do_unreserve()
        # 2 kits of (2 x A + 1 x B).
        kit_move.write({"product_id": part_a.id, "product_uom_qty": 4})
        kit_move.copy(
            {"product_id": part_b.id, "product_uom_qty": 2, "picking_id": picking.id}
        )._action_confirm(merge=False)
        picking.action_assign()
        return summary, picking, part_a, part_b, product_2

    def test_components_report_the_whole_kits_they_complete(self):
        summary, picking, part_a, part_b, product_2 = self._kit_delivery()
        self._run(self._validate(picking, {part_a: 3, part_b: 1, product_2: 1}))
        (fulfillment,) = self._channel_order(summary)["fulfillments"]
        self.assertEqual(
            self._shipped_lines(summary, fulfillment),
            {"SIM-000001": 1, "SIM-000002": 1},
            "3 A and 1 B complete one kit",
        )
        # The rest (1 A, 1 B) completes the second kit with the first's A.
        backorder = self._open_delivery(picking.sale_id)
        self._run(self._validate(backorder))
        second = self._channel_order(summary)["fulfillments"][1]
        self.assertEqual(self._shipped_lines(summary, second), {"SIM-000001": 1})

    def test_kit_shipped_on_the_channel_is_left_to_a_person(self):
        summary, picking, *_parts = self._kit_delivery()
        self._fulfil_on_channel(summary, lines=[("SIM-000001", 1)])
        (exception,) = self._exceptions(self.shopify, "fulfilment_failed")
        self.assertIn("is a kit", exception.name)
        self.assertNotEqual(picking.state, "done")
