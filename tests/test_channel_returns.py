"""Shopify returns over HTTP: a return opened on the channel sends
`returns/approve`, the job reads it through GraphQL `return(id:)` and makes
the incoming picking ahead of the refund, which then returns nothing twice."""

from odoo.tests import tagged

from .test_refunds import RefundCommon


@tagged("post_install", "-at_install")
class TestShopifyReturns(RefundCommon):
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
