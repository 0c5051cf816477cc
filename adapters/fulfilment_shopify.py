"""Shopify fulfilment: the shipped lines of an Odoo delivery become one
`fulfillmentCreate` per location of the order's open fulfillment orders.

Shopify fulfils fulfillment-order lines, not order lines: the order's open
fulfillment orders are read first, and each shipped order line is taken from
the fulfillment-order lines that still have a quantity to fulfil.
"""

from .exceptions import ChannelPayloadError
from .records import FulfilmentResult

# An order has a fulfillment order per location (a few); 4 x 100 lines keep
# the query under Shopify's 1,000-point cap (larger orders: not read whole).
MAX_FULFILLMENT_ORDERS = 4
MAX_FULFILLMENT_ORDER_LINES = 100
FULFILLABLE_STATUSES = frozenset({"OPEN", "IN_PROGRESS"})
FULFILLMENT_ORDERS_QUERY = f"""
query ChannelConnectorFulfillmentOrders($id: ID!) {{
  order(id: $id) {{
    id
    fulfillmentOrders(first: {MAX_FULFILLMENT_ORDERS}) {{
      nodes {{
        id status
        assignedLocation {{ location {{ id }} }}
        lineItems(first: {MAX_FULFILLMENT_ORDER_LINES}) {{
          nodes {{ id remainingQuantity lineItem {{ id }} }}
        }}
      }}
    }}
  }}
}}
"""
FULFILLMENT_CREATE_MUTATION = """
mutation ChannelConnectorFulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}
"""


def allocate(fulfillment_orders, request, numeric_id):
    """{location: {fulfillment order id: [(fo line id, quantity)]}} taking
    each shipped line from the open fulfillment-order lines of its order
    line, up to what each still has to fulfil."""
    wanted = {}
    for line in request.lines:
        wanted[line.line_ref] = wanted.get(line.line_ref, 0) + line.quantity
    groups = {}
    for fo in fulfillment_orders:
        if fo.get("status") not in FULFILLABLE_STATUSES:
            continue
        location = ((fo.get("assignedLocation") or {}).get("location") or {}).get("id")
        for item in (fo.get("lineItems") or {}).get("nodes") or ():
            ref = numeric_id((item.get("lineItem") or {}).get("id") or "")
            take = min(wanted.get(ref, 0), item.get("remainingQuantity") or 0)
            if take <= 0:
                continue
            wanted[ref] -= take
            groups.setdefault(location, {}).setdefault(fo["id"], []).append(
                (item["id"], take)
            )
    return groups


def blocked_statuses(fulfillment_orders, request, numeric_id):
    """Statuses of the fulfillment orders that are not open to us (on hold,
    scheduled...) yet still hold a quantity of a shipped line."""
    shipped = {line.line_ref for line in request.lines}
    return sorted(
        {
            fo.get("status") or "UNKNOWN"
            for fo in fulfillment_orders
            if fo.get("status") not in FULFILLABLE_STATUSES
            and fo.get("status") != "CLOSED"
            and any(
                numeric_id((item.get("lineItem") or {}).get("id") or "") in shipped
                and (item.get("remainingQuantity") or 0) > 0
                for item in (fo.get("lineItems") or {}).get("nodes") or ()
            )
        }
    )


def fulfillment_input(request, by_fulfillment_order):
    """The `FulfillmentInput` of one location's share of a request."""
    tracking = {
        key: value
        for key, value in (
            ("number", request.tracking_number),
            ("company", request.tracking_company),
            ("url", request.tracking_url),
        )
        if value
    }
    values = {
        "notifyCustomer": bool(request.notify_customer),
        "lineItemsByFulfillmentOrder": [
            {
                "fulfillmentOrderId": fo_id,
                "fulfillmentOrderLineItems": [
                    {"id": item_id, "quantity": quantity} for item_id, quantity in items
                ],
            }
            for fo_id, items in by_fulfillment_order.items()
        ],
    }
    if tracking:
        values["trackingInfo"] = tracking
    return values


def push_fulfilment(graphql, gid, numeric_id, request):
    """Create the Shopify fulfilments of a `FulfilmentRequest`.

    Lines fulfilled on Shopify already (a replay after a lost answer, staff
    fulfilling by hand) are not fulfilled twice: nothing left to fulfil is an
    `already_fulfilled` result; a line held on Shopify is a payload error.
    """
    order = graphql(FULFILLMENT_ORDERS_QUERY, {"id": gid("Order", request.order_ref)})
    if not order.get("order"):
        raise ChannelPayloadError(f"Shopify has no order {request.order_ref}.")
    fulfillment_orders = order["order"]["fulfillmentOrders"]["nodes"]
    blocked = blocked_statuses(fulfillment_orders, request, numeric_id)
    if blocked:
        raise ChannelPayloadError(
            "Shopify does not let these lines be fulfilled yet (fulfillment "
            f"order {', '.join(blocked)}): release them on Shopify, then retry."
        )
    groups = allocate(fulfillment_orders, request, numeric_id)
    if not groups:
        return FulfilmentResult(already_fulfilled=True)
    refs = []
    for by_fulfillment_order in groups.values():
        data = graphql(
            FULFILLMENT_CREATE_MUTATION,
            {"fulfillment": fulfillment_input(request, by_fulfillment_order)},
        )["fulfillmentCreate"]
        errors = data.get("userErrors") or ()
        if errors:
            messages = "; ".join(str(error.get("message")) for error in errors)
            raise ChannelPayloadError(f"Shopify refused the fulfilment: {messages}")
        refs.append(numeric_id(data["fulfillment"]["id"]))
    return FulfilmentResult(fulfilment_refs=tuple(refs))
