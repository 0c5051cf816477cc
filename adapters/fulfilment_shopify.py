"""Shopify fulfilment: the shipped lines of an Odoo delivery become one
`fulfillmentCreate` per location of the order's open fulfillment orders.

Shopify fulfils fulfillment-order lines, not order lines: the order's open
fulfillment orders are read first, and each shipped order line is taken from
the fulfillment-order lines that still have a quantity to fulfil.
"""

from .exceptions import ChannelPayloadError
from .records import ChannelShipment, FulfilmentLine, FulfilmentResult

# Pages small enough that a read costs ~300 points, a third of the bucket
# (a THROTTLED read waits in place instead of postponing the job); longer
# lists are paginated, up to MAX_PAGES pages of each.
FULFILLMENT_ORDERS_PAGE = 5
FULFILLMENT_ORDER_LINES_PAGE = 25
FULFILLMENT_ORDER_LINES_MORE = 100
MAX_PAGES = 20
FULFILLABLE_STATUSES = frozenset({"OPEN", "IN_PROGRESS"})
_LINES = """
    pageInfo { hasNextPage endCursor }
    nodes { id remainingQuantity lineItem { id } }
"""
FULFILLMENT_ORDERS_QUERY = f"""
query ChannelConnectorFulfillmentOrders($id: ID!, $after: String) {{
  order(id: $id) {{
    id
    fulfillmentOrders(first: {FULFILLMENT_ORDERS_PAGE}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        id status
        assignedLocation {{ location {{ id }} }}
        fulfillmentHolds {{ reason reasonNotes }}
        lineItems(first: {FULFILLMENT_ORDER_LINES_PAGE}) {{ {_LINES} }}
      }}
    }}
  }}
}}
"""
FULFILLMENT_ORDER_LINES_QUERY = f"""
query ChannelConnectorFulfillmentOrderLines($id: ID!, $after: String) {{
  fulfillmentOrder(id: $id) {{
    lineItems(first: {FULFILLMENT_ORDER_LINES_MORE}, after: $after) {{ {_LINES} }}
  }}
}}
"""
FULFILLMENT_ORDER_MOVE_MUTATION = """
mutation ChannelConnectorFulfillmentOrderMove(
  $id: ID!, $location: ID!, $items: [FulfillmentOrderLineItemInput!]
) {
  fulfillmentOrderMove(
    id: $id, newLocationId: $location, fulfillmentOrderLineItems: $items
  ) {
    movedFulfillmentOrder { id }
    userErrors { field message }
  }
}
"""
FULFILLMENT_TRACKING_MUTATION = """
mutation ChannelConnectorFulfillmentTracking(
  $id: ID!, $tracking: FulfillmentTrackingInput!, $notify: Boolean
) {
  fulfillmentTrackingInfoUpdate(
    fulfillmentId: $id, trackingInfoInput: $tracking, notifyCustomer: $notify
  ) {
    fulfillment { id }
    userErrors { field message }
  }
}
"""
FULFILLMENT_CANCEL_MUTATION = """
mutation ChannelConnectorFulfillmentCancel($id: ID!) {
  fulfillmentCancel(id: $id) {
    fulfillment { id status }
    userErrors { field message }
  }
}
"""
FULFILLMENT_STATUS_QUERY = """
query ChannelConnectorFulfillmentStatus($id: ID!) {
  fulfillment(id: $id) { id status }
}
"""
# Topics announcing a fulfilment made on Shopify (or echoing one of ours).
CHANNEL_FULFILMENT_TOPICS = frozenset({"fulfillments/create", "fulfillments/update"})
FULFILLMENT_LINES_PAGE = 100
FULFILLMENT_QUERY = f"""
query ChannelConnectorFulfillment($id: ID!, $after: String) {{
  fulfillment(id: $id) {{
    id status
    order {{ id }}
    trackingInfo(first: 1) {{ company number url }}
    fulfillmentLineItems(first: {FULFILLMENT_LINES_PAGE}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ quantity lineItem {{ id }} }}
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


def read_fulfillment_orders(graphql, order_gid):
    """Every fulfillment order of an order with all its line items (pages of
    both read in turn); None when Shopify has no such order."""
    fulfillment_orders, after = [], None
    for _page in range(MAX_PAGES):
        data = graphql(FULFILLMENT_ORDERS_QUERY, {"id": order_gid, "after": after})
        if not data.get("order"):
            return None
        connection = data["order"]["fulfillmentOrders"]
        for fo in connection.get("nodes") or ():
            if fo.get("status") != "CLOSED":
                _read_all_lines(graphql, fo)
            fulfillment_orders.append(fo)
        page = connection.get("pageInfo") or {}
        if not page.get("hasNextPage"):
            return fulfillment_orders
        after = page.get("endCursor")
    raise ChannelPayloadError(
        f"Shopify lists more than {MAX_PAGES} pages of fulfillment orders for "
        f"order {order_gid}; stopped reading."
    )


def _read_all_lines(graphql, fo):
    """Complete `fo["lineItems"]["nodes"]` past its first page."""
    lines = fo.get("lineItems") or {}
    nodes = list(lines.get("nodes") or ())
    page = lines.get("pageInfo") or {}
    for _page in range(MAX_PAGES):
        if not page.get("hasNextPage"):
            fo["lineItems"] = {"nodes": nodes}
            return
        data = graphql(
            FULFILLMENT_ORDER_LINES_QUERY,
            {"id": fo["id"], "after": page.get("endCursor")},
        )
        more = (data.get("fulfillmentOrder") or {}).get("lineItems") or {}
        nodes.extend(more.get("nodes") or ())
        page = more.get("pageInfo") or {}
    raise ChannelPayloadError(
        f"Shopify lists more than {MAX_PAGES} pages of lines on fulfillment "
        f"order {fo['id']}; stopped reading."
    )


def blocked_statuses(fulfillment_orders, request, numeric_id):
    """Statuses (with hold reasons) of the fulfillment orders that are not
    open to us (on hold, scheduled...) yet hold a quantity of a shipped line."""
    shipped = {line.line_ref for line in request.lines}
    return sorted(
        {
            _describe_block(fo)
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


def _describe_block(fo):
    holds = ", ".join(
        " ".join(filter(None, (hold.get("reason"), hold.get("reasonNotes"))))
        for hold in fo.get("fulfillmentHolds") or ()
    )
    status = fo.get("status") or "UNKNOWN"
    return f"{status}: {holds}" if holds else status


def tracking_input(request):
    """The `FulfillmentTrackingInput` of a request (what is known of it)."""
    return {
        key: value
        for key, value in (
            ("number", request.tracking_number),
            ("company", request.tracking_company),
            ("url", request.tracking_url),
        )
        if value
    }


def fulfillment_input(request, by_fulfillment_order):
    """The `FulfillmentInput` of one location's share of a request."""
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
    tracking = tracking_input(request)
    if tracking:
        values["trackingInfo"] = tracking
    return values


def _user_errors(data, doing):
    errors = data.get("userErrors") or ()
    if errors:
        messages = "; ".join(str(error.get("message")) for error in errors)
        raise ChannelPayloadError(f"Shopify refused {doing}: {messages}")


def move_elsewhere(graphql, groups, location_gid):
    """`fulfillmentOrderMove` the allocated lines of fulfillment orders
    assigned to another location than `location_gid`; whether any moved."""
    moved = False
    for location, by_fulfillment_order in groups.items():
        if location == location_gid:
            continue
        for fo_id, items in by_fulfillment_order.items():
            data = graphql(
                FULFILLMENT_ORDER_MOVE_MUTATION,
                {
                    "id": fo_id,
                    "location": location_gid,
                    "items": [{"id": item, "quantity": qty} for item, qty in items],
                },
            )["fulfillmentOrderMove"]
            _user_errors(data, f"to move fulfillment order {fo_id} to {location_gid}")
            moved = True
    return moved


def push_fulfilment(graphql, gid, numeric_id, request):
    """Create the Shopify fulfilments of a `FulfilmentRequest`.

    Lines fulfilled on Shopify already (a replay after a lost answer, staff
    fulfilling by hand) are not fulfilled twice: nothing left to fulfil is an
    `already_fulfilled` result; a line held on Shopify is a payload error.
    Lines assigned to another location than the request's are moved first.
    """
    order_gid = gid("Order", request.order_ref)
    fulfillment_orders = read_fulfillment_orders(graphql, order_gid)
    if fulfillment_orders is None:
        raise ChannelPayloadError(f"Shopify has no order {request.order_ref}.")
    blocked = blocked_statuses(fulfillment_orders, request, numeric_id)
    if blocked:
        raise ChannelPayloadError(
            "Shopify does not let these lines be fulfilled yet (fulfillment "
            f"order {', '.join(blocked)}): release them on Shopify, then retry."
        )
    groups = allocate(fulfillment_orders, request, numeric_id)
    location_gid = request.location_ref and gid("Location", request.location_ref)
    if location_gid and move_elsewhere(graphql, groups, location_gid):
        groups = allocate(
            read_fulfillment_orders(graphql, order_gid) or (), request, numeric_id
        )
    if not groups:
        return FulfilmentResult(already_fulfilled=True)
    refs = []
    for by_fulfillment_order in groups.values():
        data = graphql(
            FULFILLMENT_CREATE_MUTATION,
            {"fulfillment": fulfillment_input(request, by_fulfillment_order)},
        )["fulfillmentCreate"]
        _user_errors(data, "the fulfilment")
        refs.append(numeric_id(data["fulfillment"]["id"]))
    return FulfilmentResult(fulfilment_refs=tuple(refs))


def update_tracking(graphql, gid, fulfilment_ref, request):
    """`fulfillmentTrackingInfoUpdate` of one fulfilment with the request's
    tracking, the buyer told per the request's policy."""
    data = graphql(
        FULFILLMENT_TRACKING_MUTATION,
        {
            "id": gid("Fulfillment", fulfilment_ref),
            "tracking": tracking_input(request),
            "notify": bool(request.notify_customer),
        },
    )["fulfillmentTrackingInfoUpdate"]
    _user_errors(data, f"the tracking of fulfilment {fulfilment_ref}")


def cancel(graphql, gid, fulfilment_ref):
    """`fulfillmentCancel`; a fulfilment cancelled already (a replay) is fine."""
    fulfillment_gid = gid("Fulfillment", fulfilment_ref)
    data = graphql(FULFILLMENT_CANCEL_MUTATION, {"id": fulfillment_gid})
    data = data["fulfillmentCancel"]
    if not data.get("userErrors"):
        return
    current = graphql(FULFILLMENT_STATUS_QUERY, {"id": fulfillment_gid})
    if (current.get("fulfillment") or {}).get("status") == "CANCELLED":
        return
    _user_errors(data, f"to cancel fulfilment {fulfilment_ref}")


def parse_channel_fulfilment(topic, payload):
    """The `ChannelShipment` a `fulfillments/*` body announces, its lines
    left to `read_channel_fulfilment` (the body is a snapshot of the past)."""
    if topic not in CHANNEL_FULFILMENT_TOPICS:
        return None
    if not isinstance(payload, dict) or not payload.get("id"):
        raise ChannelPayloadError(f"The {topic} body has no fulfillment id.")
    if not payload.get("order_id"):
        raise ChannelPayloadError(f"The {topic} body has no order_id.")
    return ChannelShipment(
        fulfilment_ref=str(payload["id"]), order_ref=str(payload["order_id"])
    )


def read_channel_fulfilment(graphql, gid, numeric_id, shipment):
    """The fulfilment as Shopify holds it now: lines (every page),
    tracking, and whether it was cancelled."""
    after, lines, fulfillment = None, {}, None
    for _page in range(MAX_PAGES):
        data = graphql(
            FULFILLMENT_QUERY,
            {"id": gid("Fulfillment", shipment.fulfilment_ref), "after": after},
        )
        fulfillment = data.get("fulfillment")
        if not fulfillment:
            raise ChannelPayloadError(
                f"Shopify has no fulfillment {shipment.fulfilment_ref}."
            )
        connection = fulfillment.get("fulfillmentLineItems") or {}
        for node in connection.get("nodes") or ():
            ref = numeric_id((node.get("lineItem") or {}).get("id") or "")
            lines[ref] = lines.get(ref, 0) + int(node.get("quantity") or 0)
        page = connection.get("pageInfo") or {}
        if not page.get("hasNextPage"):
            break
        after = page.get("endCursor")
    else:
        raise ChannelPayloadError(
            f"Shopify lists more than {MAX_PAGES} pages of lines on fulfillment "
            f"{shipment.fulfilment_ref}; stopped reading."
        )
    tracking = next(iter(fulfillment.get("trackingInfo") or ()), {})
    return ChannelShipment(
        fulfilment_ref=shipment.fulfilment_ref,
        order_ref=numeric_id((fulfillment.get("order") or {}).get("id") or "")
        or shipment.order_ref,
        lines=tuple(FulfilmentLine(ref, qty) for ref, qty in lines.items() if qty),
        tracking_number=tracking.get("number") or None,
        tracking_company=tracking.get("company") or None,
        tracking_url=tracking.get("url") or None,
        cancelled=fulfillment.get("status") in ("CANCELLED", "ERROR", "FAILURE"),
    )
