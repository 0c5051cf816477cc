"""Shopify fulfilment input: shipped order lines taken from the open
fulfillment-order lines, per location, never more than they still hold."""

from odoo.tests import BaseCase, tagged

from ..adapters.exceptions import ChannelPayloadError
from ..adapters.fulfilment_shopify import (
    FULFILLMENT_ORDER_LINES_QUERY,
    MAX_PAGES,
    allocate,
    blocked_statuses,
    fulfillment_input,
    read_fulfillment_orders,
)
from ..adapters.records import FulfilmentLine, FulfilmentRequest
from ..adapters.shopify import numeric_id


def fulfillment_order(ref, location, status="OPEN", **remaining):
    """A fulfillment order node as FULFILLMENT_ORDERS_QUERY reads it."""
    return {
        "id": f"gid://shopify/FulfillmentOrder/{ref}",
        "status": status,
        "assignedLocation": {"location": {"id": f"gid://shopify/Location/{location}"}},
        "lineItems": {
            "nodes": [
                {
                    "id": f"gid://shopify/FulfillmentOrderLineItem/{ref}{line[1:]}",
                    "remainingQuantity": quantity,
                    "lineItem": {"id": f"gid://shopify/LineItem/{line[1:]}"},
                }
                for line, quantity in remaining.items()
            ]
        },
    }


def request(**lines):
    return FulfilmentRequest(
        order_ref="1",
        lines=tuple(FulfilmentLine(ref[1:], qty) for ref, qty in lines.items()),
        tracking_number="1Z",
        notify_customer=True,
    )


@tagged("post_install", "-at_install")
class TestShopifyFulfilmentInput(BaseCase):
    def test_lines_split_across_locations_and_capped_by_what_remains(self):
        orders = [
            fulfillment_order(7, 1001, l11=1, l12=5),
            fulfillment_order(8, 1002, l11=3),
            fulfillment_order(9, 1003, status="CLOSED", l11=9),
        ]
        groups = allocate(orders, request(l11=3, l12=2), numeric_id)
        self.assertEqual(
            groups,
            {
                "gid://shopify/Location/1001": {
                    "gid://shopify/FulfillmentOrder/7": [
                        ("gid://shopify/FulfillmentOrderLineItem/711", 1),
                        ("gid://shopify/FulfillmentOrderLineItem/712", 2),
                    ]
                },
                "gid://shopify/Location/1002": {
                    "gid://shopify/FulfillmentOrder/8": [
                        ("gid://shopify/FulfillmentOrderLineItem/811", 2),
                    ]
                },
            },
        )

    def test_nothing_left_to_fulfil_allocates_nothing(self):
        orders = [fulfillment_order(7, 1001, l11=0), fulfillment_order(8, 1, "CLOSED")]
        self.assertEqual(allocate(orders, request(l11=2), numeric_id), {})

    def test_a_held_line_blocks_the_push_a_closed_order_does_not(self):
        orders = [
            fulfillment_order(7, 1001, status="ON_HOLD", l11=2, l12=0),
            fulfillment_order(8, 1001, status="CLOSED", l11=1),
            fulfillment_order(9, 1001, status="SCHEDULED", l13=4),
        ]
        self.assertEqual(
            blocked_statuses(orders, request(l11=2, l12=1), numeric_id), ["ON_HOLD"]
        )
        self.assertEqual(blocked_statuses(orders, request(l12=1), numeric_id), [])

    def test_input_carries_tracking_and_notice_only_when_known(self):
        by_order = {"gid://shopify/FulfillmentOrder/7": [("fo-line", 2)]}
        values = fulfillment_input(request(l11=2), by_order)
        self.assertEqual(values["trackingInfo"], {"number": "1Z"})
        self.assertTrue(values["notifyCustomer"])
        self.assertEqual(
            values["lineItemsByFulfillmentOrder"][0]["fulfillmentOrderLineItems"],
            [{"id": "fo-line", "quantity": 2}],
        )
        bare = FulfilmentRequest(order_ref="1", lines=())
        self.assertNotIn("trackingInfo", fulfillment_input(bare, by_order))

    def test_lines_past_the_first_page_are_read_page_by_page(self):
        first = fulfillment_order(7, 1001, l11=1)
        first["lineItems"]["pageInfo"] = {"hasNextPage": True, "endCursor": "c1"}
        pages = {
            "c1": ({"l12": 2}, {"hasNextPage": True, "endCursor": "c2"}),
            "c2": ({"l13": 3}, {"hasNextPage": False, "endCursor": "c3"}),
        }
        calls = []

        def graphql(document, variables):
            calls.append(variables.get("after"))
            if document is FULFILLMENT_ORDER_LINES_QUERY:
                lines, page = pages[variables["after"]]
                nodes = fulfillment_order(7, 1001, **lines)["lineItems"]["nodes"]
                return {
                    "fulfillmentOrder": {
                        "lineItems": {"nodes": nodes, "pageInfo": page}
                    }
                }
            return {
                "order": {
                    "fulfillmentOrders": {
                        "nodes": [first],
                        "pageInfo": {"hasNextPage": False},
                    }
                }
            }

        (fo,) = read_fulfillment_orders(graphql, "gid://shopify/Order/1")
        self.assertEqual(calls, [None, "c1", "c2"])
        self.assertEqual(
            [n["remainingQuantity"] for n in fo["lineItems"]["nodes"]], [1, 2, 3]
        )

    def test_endless_fulfillment_order_pages_stop_with_an_error(self):
        def graphql(_document, variables):
            return {
                "order": {
                    "fulfillmentOrders": {
                        "nodes": [],
                        "pageInfo": {"hasNextPage": True, "endCursor": "again"},
                    }
                }
            }

        with self.assertRaises(ChannelPayloadError):
            read_fulfillment_orders(graphql, "gid://shopify/Order/1")
        self.assertEqual(MAX_PAGES, 20)
