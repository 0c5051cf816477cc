"""Shopify Admin GraphQL: validation, inventory writes, costs and throttling."""

from decimal import Decimal

import pytest
import requests
from graphql import parse, validate

from simulator import ChannelSimulator
from simulator.shopify_graphql import admin_schema
from simulator.testing import graphql, woo
from simulator.throttle import CostCalculator

SET = """
mutation S($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { reason changes { name delta quantityAfterChange
      item { id } location { id } } }
    userErrors { code field message }
  }
}"""
LEVEL = """
query L($id: ID!) { inventoryItem(id: $id) {
  inventoryLevel(locationId: "gid://shopify/Location/1001") {
    quantities(names: ["available", "on_hand"]) { name quantity } } } }"""


def quantities(item="900001", quantity=7, change_from=5, count=1, name="available"):
    row = {
        "inventoryItemId": f"gid://shopify/InventoryItem/{item}",
        "locationId": "gid://shopify/Location/1001",
        "quantity": quantity,
        "changeFromQuantity": change_from,
    }
    return {"name": name, "reason": "correction", "quantities": [row] * count}


def set_quantities(sim, data, key):
    return graphql(sim, SET, {"input": data, "key": key}).json()


def user_errors(body):
    return body["data"]["inventorySetQuantities"]["userErrors"]


def test_unknown_field_is_refused_in_shopify_error_shape(sim):
    response = graphql(sim, "{ shop { name foo } }")
    body = response.json()
    assert response.status_code == 200
    assert "data" not in body
    error = body["errors"][0]
    assert error["message"] == "Field 'foo' doesn't exist on type 'Shop'"
    assert error["extensions"]["code"] == "undefinedField"
    assert error["locations"] == [{"line": 1, "column": 15}]


def test_valid_documents_are_answered_with_data(sim):
    body = graphql(sim, "{ shop { name myshopifyDomain currencyCode } }").json()
    assert "errors" not in body
    assert body["data"]["shop"]["myshopifyDomain"] == "demo-shop.myshopify.com"
    missing = graphql(sim, "{ products { nodes { id } } }").json()
    assert missing["errors"][0]["message"] == "you must provide one of first or last"


def test_missing_argument_and_bad_variable_are_refused(sim):
    body = graphql(sim, "{ inventoryItem { id } }").json()
    assert body["errors"][0]["extensions"]["code"] == "missingRequiredArguments"
    body = graphql(sim, "query Q($x: Int) { shop { name } }").json()
    assert body["errors"][0]["message"] == "Variable $x is declared by Q but not used"
    body = graphql(sim, 'query { products(first: "ten") { nodes { id } } }').json()
    assert body["errors"][0]["extensions"]["code"] == "argumentLiteralsIncompatible"


def test_every_answer_carries_the_cost_extension(sim):
    body = graphql(sim, "{ shop { name } }").json()
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1
    assert cost["actualQueryCost"] == 1
    assert set(cost["throttleStatus"]) == {
        "maximumAvailable",
        "currentlyAvailable",
        "restoreRate",
    }


def test_idempotent_directive_is_required(sim):
    document = SET.replace(" @idempotent(key: $key)", "").replace(", $key: String!", "")
    body = graphql(sim, document, {"input": quantities()}).json()
    assert "@idempotent" in body["errors"][0]["message"]
    assert sim.state.mutations == []


def test_change_from_quantity_must_be_sent_even_as_null(sim):
    data = quantities()
    del data["quantities"][0]["changeFromQuantity"]
    body = set_quantities(sim, data, "k")
    assert "changeFromQuantity" in body["errors"][0]["message"]
    assert sim.state.levels[("900001", "1001")] == 5


def test_more_than_250_quantities_are_refused(sim):
    body = set_quantities(sim, quantities(change_from=None, count=251), "big")
    assert body["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert sim.state.mutations == []


def test_stale_change_from_quantity_applies_nothing(sim):
    data = quantities(quantity=9, change_from=5)
    data["quantities"].append({**data["quantities"][0], "changeFromQuantity": 4})
    data["quantities"][1]["inventoryItemId"] = "gid://shopify/InventoryItem/900002"
    body = set_quantities(sim, data, "stale")
    errors = user_errors(body)
    assert [e["code"] for e in errors] == ["CHANGE_FROM_QUANTITY_STALE"]
    assert errors[0]["field"] == ["input", "quantities", "1", "changeFromQuantity"]
    assert sim.state.levels[("900001", "1001")] == 5, "the valid row is not applied"


def test_same_key_replays_and_other_input_is_a_mismatch(sim):
    first = set_quantities(sim, quantities(quantity=7), "a")
    assert user_errors(first) == []
    assert first["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"][
        "changes"
    ][0] == {
        "name": "available",
        "delta": 2,
        "quantityAfterChange": 7,
        "item": {"id": "gid://shopify/InventoryItem/900001"},
        "location": {"id": "gid://shopify/Location/1001"},
    }
    replay = set_quantities(sim, quantities(quantity=7), "a")
    assert replay["data"] == first["data"]
    assert len(sim.state.mutations) == 1
    mismatch = set_quantities(sim, quantities(quantity=8), "a")
    assert [e["code"] for e in user_errors(mismatch)] == [
        "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    ]
    assert sim.state.idempotency_keys == ["a", "a", "a"]


def test_on_hand_and_available_move_together(sim):
    set_quantities(sim, quantities(quantity=12, change_from=5, name="on_hand"), "oh")
    body = graphql(sim, LEVEL, {"id": "gid://shopify/InventoryItem/900001"}).json()
    level = body["data"]["inventoryItem"]["inventoryLevel"]["quantities"]
    assert level == [
        {"name": "available", "quantity": 12},
        {"name": "on_hand", "quantity": 12},
    ]


def test_bucket_throttles_at_its_size_and_refills_at_restore_rate(small_sim, clock):
    sim = small_sim
    # 100-point bucket, 10 points/s, a mutation costs 10: ten pass.
    for index in range(10):
        body = set_quantities(
            sim, quantities(quantity=index, change_from=None), f"k{index}"
        )
        assert "errors" not in body, body
    body = set_quantities(sim, quantities(change_from=None), "k10")
    assert body["errors"][0]["message"] == "Throttled"
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert "data" not in body
    status = body["extensions"]["cost"]["throttleStatus"]
    assert status == {
        "maximumAvailable": 100.0,
        "currentlyAvailable": 0,
        "restoreRate": 10.0,
    }
    assert len(sim.state.mutations) == 10, "a throttled call executes nothing"
    clock.now += 0.9
    assert "errors" in set_quantities(sim, quantities(change_from=None), "k11")
    clock.now += 0.1
    assert "errors" not in set_quantities(sim, quantities(change_from=None), "k12")


def test_unused_connection_capacity_is_refunded(small_sim):
    sim = small_sim
    query = "{ productVariants(first: 50) { nodes { id sku } } }"
    cost = graphql(sim, query).json()["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 52
    assert cost["actualQueryCost"] == 2 + 6
    assert cost["throttleStatus"]["currentlyAvailable"] == 100 - 8


def test_query_above_the_single_query_cap_is_refused(sim):
    query = (
        "{ products(first: 250) { nodes { variants(first: 250) { nodes { id } } } } }"
    )
    body = graphql(sim, query).json()
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2 + 250 * 253


def test_cost_rules_follow_shopify_documentation():
    schema = admin_schema()
    from graphql import get_operation_ast, parse

    def cost(query, variables=None):
        document = parse(query)
        operation = get_operation_ast(document)
        return CostCalculator(schema, document, operation, variables).requested()

    assert cost("{ shop { name id } }") == 1
    assert (
        cost(
            "query Q($n: Int) { products(first: $n) { edges { node { id } } } }",
            {"n": 10},
        )
        == 12
    )
    assert (
        cost(
            'mutation { webhookSubscriptionDelete(id: "x") { userErrors { message } } }'
        )
        == 10
    )


def test_wrong_token_is_401_and_other_versions_404(sim):
    response = graphql(sim, "{ shop { name } }", token="nope")
    assert response.status_code == 401
    assert response.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or "
        "wrong password)"
    }
    assert graphql(sim, "{ shop { name } }", version="2025-10").status_code == 404


def test_variants_filter_by_sku_and_page_with_cursors(sim):
    query = """query V($after: String, $q: String) {
      productVariants(first: 4, after: $after, query: $q) {
        edges { cursor node { sku inventoryItem { id tracked } product { title } } }
        pageInfo { hasNextPage endCursor } } }"""
    page = graphql(sim, query).json()["data"]["productVariants"]
    assert [e["node"]["sku"] for e in page["edges"]] == [
        "SIM-000001",
        "SIM-000002",
        "SIM-000003",
        "SIM-000004",
    ]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = graphql(sim, query, {"after": page["pageInfo"]["endCursor"]}).json()
    skus = [e["node"]["sku"] for e in rest["data"]["productVariants"]["edges"]]
    assert skus == ["SIM-000005", "SIM-000006"]
    one = graphql(sim, query, {"q": "sku:SIM-000003"}).json()
    assert len(one["data"]["productVariants"]["edges"]) == 1


def test_order_amounts_agree_in_both_currencies(sim):
    summary = sim.scenario.create_order(
        channel="shopify",
        currency="EUR",
        line_discount_percent=10,
        order_discount="5.00",
        taxes_included=False,
        notify=False,
    )
    query = """query O($id: ID!) { order(id: $id) {
      name currencyCode presentmentCurrencyCode taxesIncluded displayFinancialStatus
      subtotalPriceSet { shopMoney { amount } presentmentMoney { amount currencyCode } }
      totalPriceSet { shopMoney { amount } presentmentMoney { amount } }
      totalTaxSet { shopMoney { amount } presentmentMoney { amount } }
      totalShippingPriceSet { shopMoney { amount } presentmentMoney { amount } }
      risk { recommendation assessments { riskLevel facts { description } } }
      lineItems(first: 10) { nodes { sku quantity variant { id }
        originalUnitPriceSet { shopMoney { amount } presentmentMoney { amount } }
        discountAllocations { allocatedAmountSet { presentmentMoney { amount } } }
        taxLines { title rate priceSet { presentmentMoney { amount } } } } }
      transactions(first: 5) {
        gateway kind status amountSet { presentmentMoney { amount } } }
    } }"""
    order = graphql(sim, query, {"id": f"gid://shopify/Order/{summary['id']}"}).json()
    order = order["data"]["order"]
    assert order["currencyCode"] == "USD"
    assert order["presentmentCurrencyCode"] == "EUR"
    for side in ("shopMoney", "presentmentMoney"):

        def amount(key, side=side):
            return Decimal(order[key][side]["amount"])

        total = amount("subtotalPriceSet") + amount("totalShippingPriceSet")
        assert total + amount("totalTaxSet") == amount("totalPriceSet")
    lines = order["lineItems"]["nodes"]
    gross = sum(
        Decimal(n["originalUnitPriceSet"]["presentmentMoney"]["amount"]) * n["quantity"]
        for n in lines
    )
    discounts = sum(
        Decimal(a["allocatedAmountSet"]["presentmentMoney"]["amount"])
        for n in lines
        for a in n["discountAllocations"]
    )
    subtotal = Decimal(order["subtotalPriceSet"]["presentmentMoney"]["amount"])
    assert gross - discounts == subtotal
    assert (
        order["transactions"][0]["amountSet"]["presentmentMoney"]["amount"]
        == (order["totalPriceSet"]["presentmentMoney"]["amount"])
    )
    assert order["risk"]["recommendation"] == "ACCEPT"


def test_orders_filter_on_updated_at_in_update_order(sim):
    first = sim.scenario.create_order(channel="shopify", notify=False)
    second = sim.scenario.create_order(channel="shopify", notify=False)
    sim.scenario.update_order(
        channel="shopify", order_id=first["id"], note="x", notify=False
    )
    query = """query($q: String) { orders(first: 10, query: $q, sortKey: UPDATED_AT) {
      nodes { id updatedAt } } }"""
    nodes = graphql(sim, query).json()["data"]["orders"]["nodes"]
    assert [n["id"].rsplit("/", 1)[1] for n in nodes] == [second["id"], first["id"]]
    stamp = nodes[1]["updatedAt"]
    later = graphql(sim, query, {"q": f"updated_at:>='{stamp}'"}).json()
    assert [n["updatedAt"] for n in later["data"]["orders"]["nodes"]] == [stamp]


def test_fulfillment_create_closes_the_fulfillment_order(sim):
    summary = sim.scenario.create_order(channel="shopify", notify=False)
    query = """query($id: ID!) { order(id: $id) { displayFulfillmentStatus
      fulfillmentOrders(first: 5) { nodes { id status
        lineItems(first: 10) { nodes { id remainingQuantity } } } } } }"""
    gid = f"gid://shopify/Order/{summary['id']}"
    order = graphql(sim, query, {"id": gid}).json()["data"]["order"]
    fulfillment_order = order["fulfillmentOrders"]["nodes"][0]
    mutation = """mutation F($f: FulfillmentInput!) {
      fulfillmentCreate(fulfillment: $f) {
      fulfillment { id status } userErrors { field message } } }"""
    items = [
        {"id": n["id"], "quantity": n["remainingQuantity"]}
        for n in fulfillment_order["lineItems"]["nodes"]
    ]
    variables = {
        "f": {
            "lineItemsByFulfillmentOrder": [
                {
                    "fulfillmentOrderId": fulfillment_order["id"],
                    "fulfillmentOrderLineItems": items,
                }
            ],
            "trackingInfo": {"number": "1Z999", "company": "UPS"},
        }
    }
    created = graphql(sim, mutation, variables).json()["data"]["fulfillmentCreate"]
    assert created["userErrors"] == []
    order = graphql(sim, query, {"id": gid}).json()["data"]["order"]
    assert order["displayFulfillmentStatus"] == "FULFILLED"
    assert order["fulfillmentOrders"]["nodes"][0]["status"] == "CLOSED"
    assert len(sim.state.fulfillments) == 1
    again = graphql(sim, mutation, variables).json()["data"]["fulfillmentCreate"]
    assert again["userErrors"], "nothing left to fulfil"


def test_webhook_subscriptions_are_created_listed_and_deleted(sim):
    create = """mutation C(
      $topic: WebhookSubscriptionTopic!, $s: WebhookSubscriptionInput!
    ) {
      webhookSubscriptionCreate(topic: $topic, webhookSubscription: $s) {
        webhookSubscription { id topic uri } userErrors { field message } } }"""
    variables = {"topic": "ORDERS_CREATE", "s": {"uri": "https://example.com/hook"}}
    made = graphql(sim, create, variables).json()["data"]["webhookSubscriptionCreate"]
    assert made["webhookSubscription"]["uri"] == "https://example.com/hook"
    twice = graphql(sim, create, variables).json()["data"]["webhookSubscriptionCreate"]
    assert (
        twice["userErrors"][0]["message"]
        == "Address for this topic has already been taken"
    )
    listed = graphql(
        sim, "{ webhookSubscriptions(first: 10) { nodes { id topic uri } } }"
    )
    assert listed.json()["data"]["webhookSubscriptions"]["nodes"] == [
        made["webhookSubscription"]
    ]
    delete = """mutation D($id: ID!) { webhookSubscriptionDelete(id: $id) {
      deletedWebhookSubscriptionId userErrors { message } } }"""
    gone = graphql(sim, delete, {"id": made["webhookSubscription"]["id"]}).json()
    assert gone["data"]["webhookSubscriptionDelete"]["deletedWebhookSubscriptionId"]
    assert sim.state.shopify_webhooks == {}


def test_payouts_and_balance_transactions(sim):
    summary = sim.scenario.create_order(
        channel="shopify", gateway="shopify_payments", notify=False
    )
    payout = sim.scenario.create_payout()
    query = """{ shopifyPaymentsAccount { balance { amount }
      payouts(first: 5) { nodes { id status net { amount }
        summary { chargesGross { amount } chargesFee { amount } } } }
      balanceTransactions(first: 5) { nodes { type
        amount { amount } fee { amount } net { amount }
        associatedOrder { name } associatedPayout { id status } } } } }"""
    account = graphql(sim, query).json()["data"]["shopifyPaymentsAccount"]
    node = account["balanceTransactions"]["nodes"][0]
    assert node["type"] == "CHARGE"
    assert node["amount"]["amount"] == summary["total"]
    assert Decimal(node["net"]["amount"]) == Decimal(summary["total"]) - Decimal(
        node["fee"]["amount"]
    )
    assert account["payouts"]["nodes"][0]["net"]["amount"] == payout["net"]
    assert node["associatedPayout"]["status"] == "PAID"


# Ten root mutations: 10 points each, requested and actual cost 100.
DELETE_ONE = (
    'webhookSubscriptionDelete(id: "gid://shopify/WebhookSubscription/1")'
    " { userErrors { message } }"
)
DELETE_TEN = "mutation { " + " ".join(f"d{n}: {DELETE_ONE}" for n in range(10)) + " }"


def test_default_bucket_throttles_at_1000_points_and_restores_100_per_second(
    sim, clock
):
    for index in range(10):
        cost = graphql(sim, DELETE_TEN).json()["extensions"]["cost"]
        assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (100, 100)
        assert cost["throttleStatus"]["currentlyAvailable"] == 900 - 100 * index
    body = graphql(sim, DELETE_TEN).json()
    assert body == {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
        ],
        "extensions": {
            "cost": {
                "requestedQueryCost": 100,
                "actualQueryCost": None,
                "throttleStatus": {
                    "maximumAvailable": 1000.0,
                    "currentlyAvailable": 0,
                    "restoreRate": 100.0,
                },
            }
        },
    }
    clock.now += 0.5
    half = graphql(sim, DELETE_TEN).json()
    assert half["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert half["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 50
    clock.now += 0.5
    again = graphql(sim, DELETE_TEN).json()
    assert "errors" not in again
    assert again["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 0
    report = sim.scenario.report()
    key = ",".join(["webhookSubscriptionDelete"] * 10)
    assert report["calls"][key] == 13
    assert report["cost"][key] == 1100, "throttled calls are not charged"


def test_report_counts_calls_and_actual_cost_per_kind(small_sim):
    sim = small_sim
    graphql(sim, "{ shop { name } }")
    graphql(sim, "{ shop { name } }")
    graphql(sim, "{ productVariants(first: 50) { nodes { id } } }")
    sim.scenario.inject("shopify", "throttled")
    assert "errors" in graphql(sim, "{ shop { name } }").json()
    woo(sim, "GET", "products")
    woo(sim, "GET", "products")
    expected_calls = {"shop": 3, "productVariants": 1, "GET products": 2}
    expected_cost = {"shop": 2, "productVariants": 2 + 6, "GET products": 0}
    for report in (
        sim.scenario.report(),
        requests.get(f"{sim.base_url}/_sim/report", timeout=10).json(),
    ):
        assert report["calls"] == expected_calls
        assert report["cost"] == expected_cost


RETURNS = """query R($id: ID!, $return: ID!) {
  order(id: $id) {
    returnStatus
    returns(first: 5) { nodes { ...ReturnParts } pageInfo { hasNextPage } }
  }
  return(id: $return) { ...ReturnParts order { id } }
}
fragment ReturnParts on Return {
  id name status totalQuantity createdAt requestApprovedAt closedAt
  returnLineItems(first: 10) { nodes {
    __typename id quantity returnReasonNote refundableQuantity
    returnReasonDefinition { handle }
    ... on ReturnLineItem { processableQuantity
      fulfillmentLineItem { lineItem { id sku } } } } }
}"""


def test_returns_are_read_through_order_returns_and_return_by_id(sim):
    assert validate(admin_schema(), parse(RETURNS)) == [], "real 2026-07 schema"
    summary = sim.scenario.create_order(
        channel="shopify", lines=[["SIM-000001", 2], ["SIM-000002", 1]], notify=False
    )
    first_line = summary["lines"][0]
    over_http = requests.post(
        f"{sim.base_url}/_sim/orders/shopify/{summary['id']}/returns",
        json={"lines": [[first_line["id"], 2, "defective"]], "note": "cracked"},
        timeout=10,
    )
    assert over_http.status_code == 200, over_http.text
    opened = over_http.json()
    requested = sim.scenario.create_return(
        "shopify", summary["id"], lines=[["SIM-000002", 1]], status="requested"
    )
    variables = {
        "id": f"gid://shopify/Order/{summary['id']}",
        "return": opened["gid"],
    }
    body = graphql(sim, RETURNS, variables).json()
    assert "errors" not in body, body
    order = body["data"]["order"]
    assert order["returnStatus"] == "RETURN_REQUESTED"
    nodes = order["returns"]["nodes"]
    assert [(n["name"], n["status"]) for n in nodes] == [
        (f"{summary['name']}-R1", "OPEN"),
        (f"{summary['name']}-R2", "REQUESTED"),
    ]
    assert nodes[1]["id"] == requested["gid"]
    assert nodes[0]["requestApprovedAt"] and nodes[0]["closedAt"] is None
    assert nodes[1]["requestApprovedAt"] is None
    assert nodes[0]["returnLineItems"]["nodes"] == [
        {
            "__typename": "ReturnLineItem",
            "id": f"gid://shopify/ReturnLineItem/{opened['lines'][0]['id']}",
            "quantity": 2,
            "returnReasonNote": "cracked",
            "refundableQuantity": 2,
            "returnReasonDefinition": {"handle": "defective"},
            "processableQuantity": 2,
            "fulfillmentLineItem": {
                "lineItem": {
                    "id": f"gid://shopify/LineItem/{first_line['id']}",
                    "sku": "SIM-000001",
                }
            },
        }
    ]
    by_id = body["data"]["return"]
    assert by_id["order"]["id"] == variables["id"]
    assert {k: v for k, v in by_id.items() if k != "order"} == nodes[0]


def test_returns_cannot_exceed_what_is_left_and_replay_from_a_snapshot(sim):
    summary = sim.scenario.create_order(
        channel="shopify", lines=[["SIM-000001", 2]], notify=False
    )
    line = summary["lines"][0]["id"]
    sim.scenario.refund_order("shopify", summary["id"], lines=[[line, 1]])
    with pytest.raises(ValueError, match="Cannot return 2"):
        sim.scenario.create_return("shopify", summary["id"], lines=[[line, 2]])
    declined = sim.scenario.create_return(
        "shopify", summary["id"], lines=[[line, 1]], status="DECLINED"
    )
    closed = sim.scenario.create_return(
        "shopify", summary["id"], lines=[[line, 1]], status="CLOSED"
    )
    assert (declined["name"], closed["name"]) == (
        f"{summary['name']}-R1",
        f"{summary['name']}-R2",
    )
    answer = requests.post(
        f"{sim.base_url}/_sim/orders/shopify/{summary['id']}/returns",
        json={"lines": [[line, 1]]},
        timeout=10,
    )
    assert answer.status_code == 400, "the one left is in the closed return"
    woo_order = sim.scenario.create_order(channel="woocommerce", notify=False)
    with pytest.raises(ValueError, match="Only Shopify"):
        sim.scenario.create_return("woocommerce", woo_order["id"], lines=[[line, 1]])
    query = """query($id: ID!) { return(id: $id) { status closedAt
      decline { reason } returnLineItems(first: 1) { nodes {
        ... on ReturnLineItem { processedQuantity processableQuantity } } } } }"""
    with ChannelSimulator(seed=sim.state.seed) as copy:
        copy.scenario.restore(sim.scenario.snapshot())
        for target in (sim, copy):
            node = graphql(target, query, {"id": closed["gid"]}).json()["data"]
            node = node["return"]
            assert node["status"] == "CLOSED" and node["closedAt"]
            assert node["decline"] is None
            assert node["returnLineItems"]["nodes"] == [
                {"processedQuantity": 1, "processableQuantity": 0}
            ]
            refused = graphql(target, query, {"id": declined["gid"]}).json()
            assert refused["data"]["return"]["decline"] == {"reason": "OTHER"}


def test_refunds_are_read_on_the_order(sim):
    summary = sim.scenario.create_order(
        channel="shopify",
        lines=[["SIM-000001", 3]],
        gateway="shopify_payments",
        notify=False,
    )
    line = summary["lines"][0]["id"]
    first = sim.scenario.refund_order(
        "shopify", summary["id"], lines=[[line, 1]], note="damaged"
    )
    second = sim.scenario.refund_order(
        "shopify", summary["id"], lines=[[line, 2]], restock=False, shipping=True
    )
    query = """query($id: ID!, $n: Int) { order(id: $id) {
      displayFinancialStatus totalRefundedSet { presentmentMoney { amount } }
      refunds(first: $n) { id note totalRefundedSet { presentmentMoney { amount } }
        refundLineItems(first: 5) { nodes { quantity restockType restocked
          lineItem { id sku } location { id } } }
        transactions(first: 5) { nodes { kind status gateway
          amountSet { presentmentMoney { amount } } } } } } }"""
    gid = f"gid://shopify/Order/{summary['id']}"
    order = graphql(sim, query, {"id": gid}).json()["data"]["order"]
    assert order["displayFinancialStatus"] == "REFUNDED"
    refunds = order["refunds"]
    assert [r["id"] for r in refunds] == [
        f"gid://shopify/Refund/{first['id']}",
        f"gid://shopify/Refund/{second['id']}",
    ]
    assert refunds[0]["note"] == "damaged"
    amounts = [r["totalRefundedSet"]["presentmentMoney"]["amount"] for r in refunds]
    assert amounts == [first["amount"], second["amount"]]
    refunded = Decimal(amounts[0]) + Decimal(amounts[1])
    assert refunded == Decimal(summary["total"])
    assert order["totalRefundedSet"]["presentmentMoney"]["amount"] == str(refunded)
    restocked, kept = (r["refundLineItems"]["nodes"][0] for r in refunds)
    assert (restocked["quantity"], restocked["restockType"]) == (1, "RETURN")
    assert restocked["restocked"] and restocked["location"]
    assert (kept["quantity"], kept["restockType"]) == (2, "NO_RESTOCK")
    assert kept["location"] is None
    assert restocked["lineItem"]["sku"] == "SIM-000001"
    transaction = refunds[0]["transactions"]["nodes"][0]
    assert (transaction["kind"], transaction["status"]) == ("REFUND", "SUCCESS")
    assert transaction["gateway"] == "shopify_payments"
    assert transaction["amountSet"]["presentmentMoney"]["amount"] == first["amount"]
    one = graphql(sim, query, {"id": gid, "n": 1}).json()["data"]["order"]
    assert len(one["refunds"]) == 1


def test_refund_by_id_has_its_order_shipping_adjustments_and_restock_types(sim):
    summary = sim.scenario.create_order(
        channel="shopify",
        lines=[["SIM-000001", 2], ["SIM-000002", 1]],
        tax_rate="0.20",
        shipping="5.00",
        notify=False,
    )
    cancelled = sim.scenario.refund_order(
        "shopify",
        summary["id"],
        lines=[["SIM-000002", 1]],
        restock_type="cancel",
        shipping=True,
        adjustment="2.50",
        notify=False,
    )
    credit = sim.scenario.refund_order(
        "shopify", summary["id"], lines=[["SIM-000001", 2]], money_moved=False
    )
    query = """query($id: ID!) { refund(id: $id) {
      id order { id } totalRefundedSet { shopMoney { amount } }
      refundLineItems(first: 5) { nodes { quantity restockType
        subtotalSet { shopMoney { amount } } totalTaxSet { shopMoney { amount } } } }
      refundShippingLines(first: 5) { nodes {
        subtotalAmountSet { shopMoney { amount } }
        taxAmountSet { shopMoney { amount } } } }
      orderAdjustments(first: 5) { nodes { reason amountSet { shopMoney { amount } } } }
      transactions(first: 5) { nodes { kind } } } }"""
    node = graphql(sim, query, {"id": f"gid://shopify/Refund/{cancelled['id']}"})
    refund = node.json()["data"]["refund"]
    assert refund["order"]["id"] == f"gid://shopify/Order/{summary['id']}"
    (item,) = refund["refundLineItems"]["nodes"]
    assert (item["quantity"], item["restockType"]) == (1, "CANCEL")
    (shipping,) = refund["refundShippingLines"]["nodes"]
    assert shipping["subtotalAmountSet"]["shopMoney"]["amount"] == "5.00"
    assert shipping["taxAmountSet"]["shopMoney"]["amount"] == "1.00"
    (adjustment,) = refund["orderAdjustments"]["nodes"]
    assert adjustment["amountSet"]["shopMoney"]["amount"] == "-2.50"
    parts = [
        item["subtotalSet"]["shopMoney"]["amount"],
        item["totalTaxSet"]["shopMoney"]["amount"],
        "6.00",
        "2.50",
    ]
    total = refund["totalRefundedSet"]["shopMoney"]["amount"]
    assert Decimal(total) == sum(Decimal(p) for p in parts)
    node = graphql(sim, query, {"id": f"gid://shopify/Refund/{credit['id']}"})
    store_credit = node.json()["data"]["refund"]
    assert store_credit["totalRefundedSet"]["shopMoney"]["amount"] == "0.00"
    assert store_credit["transactions"]["nodes"] == []
    unknown = graphql(sim, query, {"id": "gid://shopify/Refund/1"}).json()
    assert unknown["data"]["refund"] is None


def test_locations_list_filter_and_stock_levels(sim):
    query = """query($q: String) { locations(first: 5, query: $q) {
      nodes { id legacyResourceId name isActive
        inventoryLevel(inventoryItemId: "gid://shopify/InventoryItem/900001") {
          quantities(names: ["available"]) { quantity } } }
      pageInfo { hasNextPage } } }"""
    sim.scenario.set_inventory(variant="SIM-000001", available=3, location="1002")
    listed = graphql(sim, query).json()["data"]["locations"]
    assert [(n["id"], n["name"]) for n in listed["nodes"]] == [
        ("gid://shopify/Location/1001", "Main warehouse"),
        ("gid://shopify/Location/1002", "Pop-up store"),
    ]
    assert [
        n["inventoryLevel"]["quantities"][0]["quantity"] for n in listed["nodes"]
    ] == [5, 3]
    assert listed["pageInfo"]["hasNextPage"] is False
    found = graphql(sim, query, {"q": "name:Pop*"}).json()["data"]["locations"]
    assert [n["legacyResourceId"] for n in found["nodes"]] == ["1002"]
    one = graphql(sim, '{ location(id: "gid://shopify/Location/1002") { name } }')
    assert one.json()["data"]["location"] == {"name": "Pop-up store"}
