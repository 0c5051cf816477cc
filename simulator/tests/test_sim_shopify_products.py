"""Shopify productSet and productVariantsBulkUpdate over HTTP."""

from decimal import Decimal

from simulator.testing import graphql

PRODUCT_SET = """
mutation P($input: ProductSetInput!, $identifier: ProductSetIdentifiers) {
  productSet(input: $input, identifier: $identifier, synchronous: true) {
    product { id variants(first: 250) { nodes { id sku price compareAtPrice } } }
    userErrors { code field message }
  }
}"""
BULK = """
mutation B($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id price }
    userErrors { code field message }
  }
}"""


def shirt(sizes=("S", "M", "L"), price="10.00"):
    return {
        "title": "Shirt",
        "productOptions": [
            {"name": "Size", "values": [{"name": size} for size in sizes]}
        ],
        "variants": [
            {
                "optionValues": [{"optionName": "Size", "name": size}],
                "sku": f"SH-{size}",
                "price": price,
                "inventoryItem": {
                    "tracked": True,
                    "measurement": {"weight": {"value": 0.2, "unit": "KILOGRAMS"}},
                },
            }
            for size in sizes
        ],
    }


def product_set(sim, data, identifier=None):
    body = graphql(sim, PRODUCT_SET, {"input": data, "identifier": identifier}).json()
    return body["data"]["productSet"]


def test_product_set_creates_then_replaces_variants(sim):
    created = product_set(sim, shirt())
    assert created["userErrors"] == []
    nodes = created["product"]["variants"]["nodes"]
    assert [n["sku"] for n in nodes] == ["SH-S", "SH-M", "SH-L"]
    product_id = created["product"]["id"]
    ref = product_id.rsplit("/", 1)[-1]
    variant = sim.state.variants[nodes[0]["id"].rsplit("/", 1)[-1]]
    assert variant["weight"] == 0.2
    assert sim.state.levels[(variant["inventory_item"], "1001")] == 0
    # Replace: S keeps its id, L is dropped.
    data = shirt(sizes=("S", "M"), price="12.00")
    data["variants"][0]["id"] = nodes[0]["id"]
    replaced = product_set(sim, data, {"id": product_id})
    assert replaced["userErrors"] == []
    again = replaced["product"]["variants"]["nodes"]
    assert again[0]["id"] == nodes[0]["id"]
    assert len(sim.state.products[ref]["variant_ids"]) == 2
    assert nodes[2]["id"].rsplit("/", 1)[-1] not in sim.state.variants


def test_product_set_refuses_unknown_option_values_and_applies_nothing(sim):
    data = shirt()
    data["variants"][1]["optionValues"][0]["name"] = "XL"
    result = product_set(sim, data)
    assert result["product"] is None
    assert result["userErrors"][0]["code"] == "OPTION_VALUE_DOES_NOT_EXIST"
    assert sim.state.product_writes == []


def test_bulk_update_changes_prices_of_one_product_only(sim):
    created = product_set(sim, shirt())
    product_id = created["product"]["id"]
    first = created["product"]["variants"]["nodes"][0]["id"]
    body = graphql(
        sim,
        BULK,
        {"productId": product_id, "variants": [{"id": first, "price": "8.50"}]},
    ).json()["data"]["productVariantsBulkUpdate"]
    assert body["userErrors"] == []
    assert sim.state.variants[first.rsplit("/", 1)[-1]]["price"] == Decimal("8.50")
    other = product_set(sim, shirt(sizes=("XS",)))["product"]["id"]
    refused = graphql(
        sim,
        BULK,
        {"productId": other, "variants": [{"id": first, "price": "1.00"}]},
    ).json()["data"]["productVariantsBulkUpdate"]
    assert refused["userErrors"][0]["code"] == "MUST_BE_FOR_THIS_PRODUCT"
    assert sim.state.variants[first.rsplit("/", 1)[-1]]["price"] == Decimal("8.50")
