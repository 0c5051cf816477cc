"""Shopify returns over HTTP: a return opened on the channel sends
`returns/approve`, the job reads it through GraphQL `return(id:)` and makes
the incoming picking ahead of the refund, which then returns nothing twice."""

from odoo.tests import tagged

from .common import validate_in_full
from .test_refunds import RefundCommon


class ReturnCommon(RefundCommon):
    def _open_return(self, order, lines):
        return self._channel_acts(
            lambda: self.sim.scenario.create_return(
                "shopify", order["id"], lines=lines, notify=True
            )
        )

    def _return_binding(self, channel_return):
        return self.Refund.search(
            [
                ("backend_id", "=", self.shopify.id),
                ("external_ref", "=", f"return:{channel_return['id']}"),
            ]
        )


@tagged("post_install", "-at_install")
class TestShopifyReturns(ReturnCommon):
    def test_an_opened_return_makes_the_return_picking_the_refund_then_reuses(self):
        order = self._sell()
        delivery = self._ship(order)
        channel_return = self._open_return(order, [("SIM-000001", 1)])
        event = self._events(self.shopify, "returns/approve")
        self.assertEqual(event.state, "done", event.error)
        binding = self._return_binding(channel_return)
        self.assertEqual(binding.state, "done", binding.missing)
        self.assertTrue(binding.is_return)
        self.assertFalse(binding.credit_note_id)
        returned = binding.return_picking_ids
        self.assertEqual(returned.return_id, delivery)
        self.assertEqual(returned.picking_type_code, "incoming")
        self.assertEqual(
            [(m.product_id.default_code, m.product_uom_qty) for m in returned.move_ids],
            [("SIM-000001", 1.0)],
        )
        # The refund of the returned unit books its money, no second return.
        refund = self._refund(
            order,
            lines=[("SIM-000001", 1)],
            restock=True,
            return_id=channel_return["id"],
        )
        refund_binding = self._assert_booked(refund, order)
        self.assertEqual(refund_binding.return_picking_ids, returned)
        self.assertEqual(delivery.return_ids, returned)
        # The same return delivered again makes nothing more.
        event._job_process()
        self.assertEqual(delivery.return_ids, returned)

    def test_a_return_of_goods_not_shipped_waits_for_them(self):
        order = self._sell()
        channel_return = self._open_return(order, [("SIM-000002", 1)])
        binding = self._return_binding(channel_return)
        self.assertEqual(binding.state, "incomplete")
        self.assertFalse(binding.return_picking_ids)
        exception = self._exceptions(self.shopify, "refund_incomplete")
        self.assertIn("not shipped", exception.name)
        self._ship(order)
        exception.action_retry()
        self.assertEqual(binding.state, "done")
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(binding.return_picking_ids.move_ids.product_uom_qty, 1.0)


@tagged("post_install", "-at_install")
class TestShopifyReturnEnds(ReturnCommon):
    """`returns/cancel` and `returns/decline` over HTTP: the return picking
    made when the return opened is cancelled while it waits; goods already
    received are an exception saying what to do; a replay changes nothing."""

    def _end_return(self, order, channel_return, decline=False):
        return self._channel_acts(
            lambda: self.sim.scenario.end_return(
                order["id"], channel_return["id"], decline=decline
            )
        )

    def test_a_cancelled_return_cancels_its_waiting_picking(self):
        order = self._sell()
        delivery = self._ship(order)
        channel_return = self._open_return(order, [("SIM-000001", 1)])
        binding = self._return_binding(channel_return)
        returned = binding.return_picking_ids
        self.assertEqual(returned.state, "assigned")
        self._end_return(order, channel_return)
        event = self._events(self.shopify, "returns/cancel")
        self.assertEqual(event.state, "done", event.error)
        self.assertEqual(returned.state, "cancel")
        self.assertEqual(binding.state, "done")
        self.assertFalse(self._exceptions(self.shopify, "refund_incomplete"))
        # Replays of the cancellation and of the opening make nothing again.
        for replayed in event | self._events(self.shopify, "returns/approve"):
            replayed._job_process()
        self.assertEqual(delivery.return_ids, returned)
        self.assertEqual(returned.state, "cancel")
        self.assertFalse(self._exceptions(self.shopify, "refund_incomplete"))

    def test_a_return_cancelled_after_its_goods_came_back_says_what_to_do(self):
        order = self._sell()
        self._ship(order)
        channel_return = self._open_return(order, [("SIM-000001", 1)])
        returned = self._return_binding(channel_return).return_picking_ids
        validate_in_full(returned)
        self._end_return(order, channel_return)
        self.assertEqual(returned.state, "done", "received goods stay received")
        exception = self._exceptions(self.shopify, "refund_incomplete")
        self.assertEqual(len(exception), 1)
        self.assertIn("already received", exception.name)
        self.assertIn(returned.name, exception.name)
        self._events(self.shopify, "returns/cancel")._job_process()
        self.assertEqual(self._exceptions(self.shopify, "refund_incomplete"), exception)

    def test_a_return_cancelled_before_the_goods_shipped_closes_its_exception(self):
        order = self._sell()
        channel_return = self._open_return(order, [("SIM-000002", 1)])
        exception = self._exceptions(self.shopify, "refund_incomplete")
        self.assertEqual(exception.state, "open")
        self._end_return(order, channel_return)
        binding = self._return_binding(channel_return)
        self.assertEqual(binding.state, "done")
        self.assertEqual(exception.state, "resolved")
        self.assertFalse(binding.return_picking_ids)

    def test_a_declined_return_request_makes_nothing(self):
        order = self._sell()
        self._ship(order)
        requested = self._channel_acts(
            lambda: self.sim.scenario.create_return(
                "shopify",
                order["id"],
                lines=[("SIM-000001", 1)],
                status="REQUESTED",
                notify=True,
            )
        )
        self._end_return(order, requested, decline=True)
        event = self._events(self.shopify, "returns/decline")
        self.assertEqual(event.state, "ignored", event.error)
        self.assertFalse(self._return_binding(requested))
        self.assertFalse(
            self._sale_order(self.shopify, order).picking_ids.filtered(
                lambda p: p.picking_type_code == "incoming"
            )
        )


@tagged("post_install", "-at_install")
class TestRefundRestockOnChannelStock(RefundCommon):
    """A refund that restocks on the channel: the channel's level is marked
    for export and the return goes where the channel restocked it."""

    def test_restock_marks_the_levels_and_returns_to_the_mapped_location(self):
        returns_location = self.env["stock.location"].create(
            {"name": "Returns", "location_id": self.stock.id, "usage": "internal"}
        )
        self.env["channel.stock.location"].search(
            [("backend_id", "=", self.shopify.id), ("location_ref", "=", "1001")]
        ).location_ids = returns_location
        self.shopify._sync_stock_levels()
        Level = self.env["channel.stock.level"]
        order = self._sell()
        self._ship(order)
        levels = Level.search([("backend_id", "=", self.shopify.id)])
        levels._clear_dirty(levels._read_marks())
        product = self.catalogue["100001"]
        level = levels.filtered(lambda lv: lv.product_id == product)
        self.assertTrue(level)
        self.assertFalse(level.dirty)
        refund = self._refund(order, lines=[("SIM-000001", 1)], restock=True)
        binding = self._assert_booked(refund, order)
        self.assertEqual(
            binding.return_picking_ids.move_ids.location_dest_id, returns_location
        )
        self.assertTrue(level.dirty, "Odoo's quantity is published again")
        other = levels - level
        self.assertFalse(other.filtered("dirty"), "only the restocked variant")
