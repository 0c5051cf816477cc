"""The simulator behaves like the channels where the addon depends on it."""

import json

import pytest
import requests

from simulator import ChannelSimulator
from simulator.reference import reference_path
from simulator.webhooks import sign

SET = """mutation S($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    userErrors { code message }
  }
}"""


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def sim(clock):
    with ChannelSimulator(seed=7, bucket_size=100, restore_rate=10, clock=clock) as sim:
        sim.state.seed_catalogue(3, quantity=5)
        yield sim


def graphql(sim, query, variables=None, token="shpat_sim_token"):
    return requests.post(
        f"{sim.base_url}/admin/api/2026-07/graphql.json",
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": token},
        timeout=10,
    )


def quantities(item="900001", quantity=7, change_from=5, count=1):
    return {
        "name": "available",
        "reason": "correction",
        "quantities": [
            {
                "inventoryItemId": f"gid://shopify/InventoryItem/{item}",
                "locationId": "gid://shopify/Location/1001",
                "quantity": quantity,
                "changeFromQuantity": change_from,
            }
        ]
        * count,
    }


def test_invalid_field_is_rejected_with_shopify_error_shape(sim):
    body = graphql(sim, "{ shop { nam } }").json()
    assert "data" not in body
    assert "Cannot query field 'nam' on type 'Shop'" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "undefinedField"


def test_wrong_token_and_wrong_woo_credentials_are_401(sim):
    assert graphql(sim, "{ shop { name } }", token="nope").status_code == 401
    response = requests.get(
        f"{sim.base_url}/wp-json/wc/v3/products", auth=("ck_sim", "bad"), timeout=10
    )
    assert response.status_code == 401
    assert response.json()["code"] == "woocommerce_rest_authentication_error"


def test_throttled_at_the_bucket_numbers_and_refilled_at_restore_rate(sim, clock):
    # 100-point bucket, mutations cost 10: ten pass, the eleventh is throttled.
    for index in range(10):
        body = graphql(
            sim,
            SET,
            {"input": quantities(quantity=index, change_from=None), "key": f"k{index}"},
        ).json()
        assert "errors" not in body
    body = graphql(
        sim, SET, {"input": quantities(change_from=None), "key": "k10"}
    ).json()
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 0
    clock.now += 1.0  # 10 points/s restored
    body = graphql(
        sim, SET, {"input": quantities(change_from=None), "key": "k11"}
    ).json()
    assert "errors" not in body


def test_compare_and_set_and_idempotency(sim):
    first = graphql(sim, SET, {"input": quantities(), "key": "a"}).json()
    assert first["data"]["inventorySetQuantities"]["userErrors"] == []
    replay = graphql(sim, SET, {"input": quantities(), "key": "a"}).json()
    assert replay["data"] == first["data"]
    assert len(sim.state.mutations) == 1, "a replayed key is not applied twice"
    stale = graphql(
        sim, SET, {"input": quantities(quantity=1, change_from=5), "key": "b"}
    ).json()
    errors = stale["data"]["inventorySetQuantities"]["userErrors"]
    assert errors[0]["code"] == "CHANGE_FROM_QUANTITY_STALE"
    assert sim.state.levels[("900001", "1001")] == 7
    mismatch = graphql(sim, SET, {"input": quantities(quantity=2), "key": "a"}).json()
    codes = [
        e["code"] for e in mismatch["data"]["inventorySetQuantities"]["userErrors"]
    ]
    assert codes == ["IDEMPOTENCY_KEY_PARAMETER_MISMATCH"]


def test_idempotent_directive_is_required(sim):
    body = graphql(
        sim,
        SET.replace(" @idempotent(key: $key)", "").replace(", $key: String!", ""),
        {"input": quantities()},
    ).json()
    assert "@idempotent" in body["errors"][0]["message"]


def test_more_than_250_quantities_are_refused(sim):
    body = graphql(
        sim, SET, {"input": quantities(change_from=None, count=251), "key": "big"}
    ).json()
    assert body["data"]["inventorySetQuantities"]["userErrors"]


def test_woocommerce_batch_limit(sim):
    url = f"{sim.base_url}/wp-json/wc/v3/products/batch"
    too_many = {"update": [{"id": 100001, "stock_quantity": 1}] * 101}
    response = requests.post(url, json=too_many, auth=("ck_sim", "cs_sim"), timeout=10)
    assert response.status_code == 413
    ok = {"update": [{"id": 100001, "stock_quantity": 4}]}
    response = requests.post(url, json=ok, auth=("ck_sim", "cs_sim"), timeout=10)
    assert response.json()["update"][0]["stock_quantity"] == 4


def test_signatures_reproduce_the_reference_vectors():
    for channel, file_name in (
        ("shopify/webhooks/hmac_test_vectors", "vectors.json"),
        ("woocommerce/webhooks", "hmac_test_vectors.json"),
    ):
        folder = reference_path(*channel.split("/"))
        vectors = json.loads((folder / file_name).read_text())
        for vector in vectors["vectors"]:
            body = (folder / vector["body_file"]).read_bytes()
            expected = vector["headers"].get("X-Shopify-Hmac-Sha256") or vector[
                "headers"
            ].get("X-WC-Webhook-Signature")
            assert sign(vectors["secret"], body) == expected


def test_throttled_fault_injection(sim):
    sim.state.inject("shopify", "throttled", 1)
    body = graphql(sim, "{ shop { name } }").json()
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert sim.state.calls["shop"] == 1
