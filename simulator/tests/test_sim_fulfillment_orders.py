"""Fulfillment orders per location, holds, moves, tracking updates and
cancellations, over GraphQL."""

from simulator.testing import graphql

FO_QUERY = """query($id: ID!) { order(id: $id) { displayFulfillmentStatus
  fulfillmentOrders(first: 10) { nodes { id status
    assignedLocation { location { id } } fulfillmentHolds { reason }
    lineItems(first: 10) { nodes { id remainingQuantity lineItem { sku } } } } } } }"""
CREATE = """mutation F($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {
  fulfillment { id status } userErrors { field message } } }"""
MOVE = """mutation M($id: ID!, $loc: ID!) { fulfillmentOrderMove(id: $id,
  newLocationId: $loc) { movedFulfillmentOrder { id assignedLocation {
  location { id } } } userErrors { message } } }"""
TRACK = """mutation T($id: ID!, $t: FulfillmentTrackingInput!) {
  fulfillmentTrackingInfoUpdate(fulfillmentId: $id, trackingInfoInput: $t,
  notifyCustomer: true) { fulfillment { id } userErrors { message } } }"""
CANCEL = """mutation C($id: ID!) { fulfillmentCancel(id: $id) {
  fulfillment { id status } userErrors { message } } }"""


def _order(sim, summary):
    gid = f"gid://shopify/Order/{summary['id']}"
    return graphql(sim, FO_QUERY, {"id": gid}).json()["data"]["order"]


def _data(sim, query, variables):
    return graphql(sim, query, variables).json()["data"]


def test_split_hold_move_fulfil_track_and_cancel(sim):
    skus = [v["sku"] for v in list(sim.state.variants.values())[:2]]
    summary = sim.scenario.create_order(
        channel="shopify", notify=False, lines=[(skus[0], 2), (skus[1], 1)]
    )
    split = sim.scenario.split_fulfillment_order(
        summary["id"], location="1002", lines=[(skus[1], 1)], hold_reason="OTHER"
    )
    nodes = _order(sim, summary)["fulfillmentOrders"]["nodes"]
    assert [n["status"] for n in nodes] == ["OPEN", "ON_HOLD"]
    assert nodes[1]["fulfillmentHolds"] == [{"reason": "OTHER"}]
    assert nodes[1]["id"] == split["gid"]
    main = nodes[0]
    # Held: neither fulfilled nor moved.
    held_input = {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": split["gid"]}]}
    refused = _data(sim, CREATE, {"f": held_input})["fulfillmentCreate"]
    assert "ON_HOLD" in refused["userErrors"][0]["message"]
    moved = _data(sim, MOVE, {"id": split["gid"], "loc": "gid://shopify/Location/1001"})
    assert moved["fulfillmentOrderMove"]["userErrors"]
    # The open one moves whole (nothing fulfilled yet): same id, new location.
    moved = _data(sim, MOVE, {"id": main["id"], "loc": "gid://shopify/Location/1002"})
    node = moved["fulfillmentOrderMove"]["movedFulfillmentOrder"]
    assert node["id"] == main["id"]
    assert node["assignedLocation"]["location"]["id"].endswith("/1002")
    # Two fulfillment orders at two locations: refused in one fulfillment.
    sim.scenario.hold_fulfillment_order(split["id"], reason=None)
    both = {
        "lineItemsByFulfillmentOrder": [
            {"fulfillmentOrderId": main["id"]},
            {"fulfillmentOrderId": split["gid"]},
        ]
    }
    created = _data(sim, CREATE, {"f": both})["fulfillmentCreate"]
    assert created["userErrors"] == [], "both at 1002 now"
    fulfillment_id = created["fulfillment"]["id"]
    assert _order(sim, summary)["displayFulfillmentStatus"] == "FULFILLED"
    tracked = _data(sim, TRACK, {"id": fulfillment_id, "t": {"number": "NEW-1"}})
    assert tracked["fulfillmentTrackingInfoUpdate"]["userErrors"] == []
    (record,) = sim.state.fulfillments
    assert record["tracking"] == {"number": "NEW-1"}
    assert record["tracking_updates"][-1]["notify_customer"] is True
    cancelled = _data(sim, CANCEL, {"id": fulfillment_id})["fulfillmentCancel"]
    assert cancelled["fulfillment"]["status"] == "CANCELLED"
    order = _order(sim, summary)
    assert order["displayFulfillmentStatus"] == "UNFULFILLED"
    assert {n["status"] for n in order["fulfillmentOrders"]["nodes"]} == {"OPEN"}
    again = _data(sim, CANCEL, {"id": fulfillment_id})["fulfillmentCancel"]
    assert again["userErrors"]


FULFILLMENT = """query($id: ID!) { fulfillment(id: $id) { id status order { id }
  trackingInfo(first: 1) { number company }
  fulfillmentLineItems(first: 10) { nodes { quantity lineItem { sku } } } } }"""


def test_merchant_fulfils_on_the_channel_and_changes_its_tracking(sim):
    sim.scenario.seed_catalogue(count=2)
    summary = sim.scenario.create_order(
        channel="shopify", notify=False, lines=[("SIM-000001", 2), ("SIM-000002", 1)]
    )
    made = sim.scenario.fulfill_on_channel(
        "shopify",
        summary["id"],
        lines=[("SIM-000001", 1)],
        tracking={"number": "T-1", "company": "UPS"},
        notify=False,
    )
    gid = f"gid://shopify/Fulfillment/{made['id']}"
    fulfillment = _data(sim, FULFILLMENT, {"id": gid})["fulfillment"]
    assert fulfillment["order"]["id"] == f"gid://shopify/Order/{summary['id']}"
    assert fulfillment["trackingInfo"] == [{"number": "T-1", "company": "UPS"}]
    assert [
        (n["lineItem"]["sku"], n["quantity"])
        for n in fulfillment["fulfillmentLineItems"]["nodes"]
    ] == [("SIM-000001", 1)]
    assert _order(sim, summary)["displayFulfillmentStatus"] == "PARTIALLY_FULFILLED"
    sim.scenario.update_fulfillment_tracking(made["id"], {"number": "T-2"}, False)
    fulfillment = _data(sim, FULFILLMENT, {"id": gid})["fulfillment"]
    assert fulfillment["trackingInfo"][0]["number"] == "T-2"
    sim.scenario.fulfill_on_channel("shopify", summary["id"], notify=False)
    assert _order(sim, summary)["displayFulfillmentStatus"] == "FULFILLED"
    woo = sim.scenario.create_order(channel="woocommerce", notify=False)
    sim.scenario.fulfill_on_channel("woocommerce", woo["id"], notify=False)
    assert sim.state.woo_orders[str(woo["id"])]["woo_status"] == "completed"
