"""Asynchronous productSet, store settings and variation deletes over HTTP."""

from simulator.testing import graphql, woo
from simulator.tests.test_sim_shopify_products import shirt

ASYNC_SET = """
mutation A($input: ProductSetInput!) {
  productSet(input: $input, synchronous: false) {
    product { id }
    productSetOperation { id status }
    userErrors { code field message }
  }
}"""
OPERATION = """
query O($id: ID!) {
  productOperation(id: $id) {
    status
    product { id title }
    ... on ProductSetOperation { userErrors { code field message } }
  }
}"""


def poll(sim, operation_id):
    body = graphql(sim, OPERATION, {"id": operation_id}).json()
    return body["data"]["productOperation"]


def test_async_product_set_is_polled_until_complete(sim):
    answer = graphql(sim, ASYNC_SET, {"input": shirt()}).json()["data"]["productSet"]
    assert answer["product"] is None
    operation = answer["productSetOperation"]
    assert operation["status"] == "CREATED"
    assert sim.state.product_writes == [], "nothing written before it runs"
    assert poll(sim, operation["id"])["status"] == "ACTIVE"
    done = poll(sim, operation["id"])
    assert done["status"] == "COMPLETE" and done["userErrors"] == []
    assert done["product"]["title"] == "Shirt"
    assert sim.state.product_writes[0][0] == "productSet"


def test_async_product_set_reports_user_errors_on_the_operation(sim):
    data = shirt()
    data["variants"][1]["optionValues"] = data["variants"][0]["optionValues"]
    answer = graphql(sim, ASYNC_SET, {"input": data}).json()["data"]["productSet"]
    operation_id = answer["productSetOperation"]["id"]
    poll(sim, operation_id)
    done = poll(sim, operation_id)
    assert done["status"] == "COMPLETE" and done["product"] is None
    assert done["userErrors"][0]["code"] == "DUPLICATED_OPTION_VALUE"


def test_shop_says_its_currency_and_weight_unit(sim):
    sim.state.weight_unit = "POUNDS"
    query = "query S { shop { currencyCode weightUnit } }"
    shop = graphql(sim, query).json()["data"]["shop"]
    assert shop == {"currencyCode": "USD", "weightUnit": "POUNDS"}


def test_woocommerce_settings_and_variation_batch_delete(sim):
    sim.state.woo_settings["woocommerce_weight_unit"] = "lbs"
    unit = woo(sim, "GET", "settings/products/woocommerce_weight_unit").json()
    assert unit["value"] == "lbs"
    assert woo(sim, "GET", "settings/general/nope").status_code == 404
    sim.scenario.seed_catalogue(count=6, quantity=1, max_variants=3)
    parent = next(p for p in sim.state.woo_products.values() if p["type"] == "variable")
    gone, kept = parent["variations"][0], parent["variations"][1:]
    route = f"products/{parent['id']}/variations/batch"
    answer = woo(sim, "POST", route, json={"delete": [gone, 999]}).json()
    assert answer["delete"][0]["id"] == gone
    assert answer["delete"][1]["error"]["code"].endswith("invalid_id")
    assert str(gone) not in sim.state.woo_products
    assert parent["variations"] == kept
