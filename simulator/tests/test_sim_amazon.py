"""The SP-API stand-in: LWA tokens, getOrders paging, per-operation rate
limits, and answers checked against Amazon's OpenAPI model."""

import pytest
import requests

from simulator.amazon import USAGE_PLANS
from simulator.amazon_schema import SchemaError, Validator, check_answer, model
from simulator.server import AMAZON_CREDENTIALS

CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN = AMAZON_CREDENTIALS
US = "ATVPDKIKX0DER"


def lwa(sim, **form):
    data = {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH_TOKEN,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        **form,
    }
    return requests.post(f"{sim.base_url}/auth/o2/token", data=data, timeout=10)


def sp_get(sim, path, token, **params):
    return requests.get(
        f"{sim.base_url}{path}",
        params=params,
        headers={"x-amz-access-token": token},
        timeout=10,
    )


@pytest.fixture
def token(sim):
    return lwa(sim).json()["access_token"]


def line(sku="SIM-000001", quantity=1, price="10.00", tax="0.80"):
    return {"sku": sku, "quantity": quantity, "price": price, "tax": tax}


def test_refresh_token_grant_issues_an_hour_long_token(sim, clock):
    answer = lwa(sim).json()
    assert answer["token_type"] == "bearer"
    assert answer["expires_in"] == 3600
    assert answer["access_token"].startswith("Atza|")
    token = answer["access_token"]
    assert (
        sp_get(
            sim,
            "/orders/v0/orders",
            token,
            MarketplaceIds=US,
            LastUpdatedAfter="2020-01-01T00:00:00Z",
        ).status_code
        == 200
    )
    clock.now += 3600
    expired = sp_get(
        sim,
        "/orders/v0/orders",
        token,
        MarketplaceIds=US,
        LastUpdatedAfter="2020-01-01T00:00:00Z",
    )
    assert expired.status_code == 403
    assert "expired" in expired.json()["errors"][0]["details"]


def test_lwa_refuses_wrong_client_and_wrong_refresh_token(sim):
    assert lwa(sim, client_secret="nope").status_code == 401
    refused = lwa(sim, refresh_token="Atzr|other")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert lwa(sim, grant_type="client_credentials").status_code == 400
    assert sim.amazon.token_requests == 0


def test_get_orders_pages_with_next_token_oldest_change_first(sim, token):
    ids = [sim.amazon.add_order([line()]) for _ in range(250)]
    seen, pages, params = (
        [],
        0,
        {
            "MarketplaceIds": US,
            "LastUpdatedAfter": "2020-01-01T00:00:00Z",
        },
    )
    while True:
        answer = sp_get(sim, "/orders/v0/orders", token, **params)
        assert answer.status_code == 200
        check_answer("getOrders", 200, answer.json())
        payload = answer.json()["payload"]
        seen += [order["AmazonOrderId"] for order in payload["Orders"]]
        pages += 1
        if "NextToken" not in payload:
            break
        params = {"MarketplaceIds": US, "NextToken": payload["NextToken"]}
    assert pages == 3
    assert sorted(seen) == sorted(ids)


def test_get_orders_refuses_an_unknown_parameter_and_a_missing_date(sim, token):
    unknown = sp_get(
        sim,
        "/orders/v0/orders",
        token,
        MarketplaceIds=US,
        LastUpdatedAfter="2020-01-01T00:00:00Z",
        UpdatedSince="x",
    )
    assert unknown.status_code == 400
    assert "UpdatedSince" in unknown.json()["errors"][0]["message"]
    assert sp_get(sim, "/orders/v0/orders", token, MarketplaceIds=US).status_code == 400


def test_order_and_items_are_what_the_model_declares(sim, token):
    order_id = sim.amazon.add_order(
        [line(quantity=2, price="19.99", tax="3.20"), line("SIM-000002")],
        shipping="4.99",
        shipping_tax="0.40",
    )
    order = sp_get(sim, f"/orders/v0/orders/{order_id}", token).json()["payload"]
    items = sp_get(sim, f"/orders/v0/orders/{order_id}/orderItems", token).json()
    check_answer("getOrderItems", 200, items)
    assert order["OrderTotal"] == {"CurrencyCode": "USD", "Amount": "59.37"}
    first = items["payload"]["OrderItems"][0]
    assert first["ItemPrice"]["Amount"] == "39.98"
    assert first["TaxCollection"]["Model"] == "MarketplaceFacilitator"
    missing = sp_get(sim, "/orders/v0/orders/113-0000000-0000000", token)
    assert missing.status_code == 404


def test_each_operation_has_its_own_bucket_and_429_states_its_rate(sim, clock, token):
    order_id = sim.amazon.add_order([line()])
    rate, burst = USAGE_PLANS["getOrder"]
    path = f"/orders/v0/orders/{order_id}"
    assert all(sp_get(sim, path, token).status_code == 200 for _ in range(burst))
    throttled = sp_get(sim, path, token)
    assert throttled.status_code == 429
    assert throttled.json()["errors"][0]["code"] == "QuotaExceeded"
    assert throttled.headers["x-amzn-RateLimit-Limit"] == "0.5"
    # Another operation's bucket is full.
    assert sp_get(sim, f"{path}/orderItems", token).status_code == 200
    clock.now += 1 / rate
    assert sp_get(sim, path, token).status_code == 200
    assert sim.amazon.throttled == {"getOrder": 1}


def test_rate_scale_speeds_the_refill_only(make_sim, clock):
    sim = make_sim(amazon_rate_scale=100)
    token = lwa(sim).json()["access_token"]
    order_id = sim.amazon.add_order([line()])
    path = f"/orders/v0/orders/{order_id}"
    for _ in range(30):
        sp_get(sim, path, token)
    assert sp_get(sim, path, token).headers["x-amzn-RateLimit-Limit"] == "50"
    clock.now += 0.03
    assert sp_get(sim, path, token).status_code == 200


def test_the_validator_catches_what_the_model_forbids():
    validator = Validator(model())
    schema = {"$ref": "#/definitions/Order"}
    with pytest.raises(SchemaError, match="AmazonOrderId"):
        validator.check(
            schema,
            {"LastUpdateDate": "x", "OrderStatus": "Shipped", "PurchaseDate": "x"},
            "$",
        )
    with pytest.raises(SchemaError, match="not in the model"):
        validator.check(
            {"$ref": "#/definitions/Money"}, {"Amount": "1.00", "Currency": "USD"}, "$"
        )
    with pytest.raises(SchemaError, match="expected integer"):
        validator.check(
            {"$ref": "#/definitions/OrderItem"},
            {"ASIN": "B0", "OrderItemId": "1", "QuantityOrdered": "2"},
            "$",
        )


def test_faults_apply_to_amazon(sim, token):
    sim.state.inject("amazon", "5xx", status=503)
    answer = sp_get(
        sim,
        "/orders/v0/orders",
        token,
        MarketplaceIds=US,
        LastUpdatedAfter="2020-01-01T00:00:00Z",
    )
    assert answer.status_code == 503


def confirm(sim, token, order_id, items, reference="1", *, carrier="UPS", **extra):
    package = {
        "packageReferenceId": reference,
        "carrierCode": carrier,
        "trackingNumber": "1Z999AA10123456784",
        "shipDate": "2026-12-01T10:00:00Z",
        "orderItems": [{"orderItemId": i, "quantity": q} for i, q in items],
        **extra,
    }
    return requests.post(
        f"{sim.base_url}/orders/v0/orders/{order_id}/shipmentConfirmation",
        json={"marketplaceId": US, "packageDetail": package},
        headers={"x-amz-access-token": token},
        timeout=10,
    )


def test_confirm_shipment_ships_the_items_once(sim, token):
    order_id = sim.amazon.add_order([line(quantity=2)])
    item = sim.amazon.orders[order_id]["items"][0]["OrderItemId"]
    assert confirm(sim, token, order_id, [(item, 1)]).status_code == 204
    assert sim.amazon.orders[order_id]["order"]["OrderStatus"] == "PartiallyShipped"
    assert confirm(sim, token, order_id, [(item, 2)], "2").status_code == 400
    assert confirm(sim, token, order_id, [(item, 1)], "2").status_code == 204
    assert sim.amazon.orders[order_id]["order"]["OrderStatus"] == "Shipped"
    assert sim.amazon.orders[order_id]["packages"][0]["carrierCode"] == "UPS"


def test_confirm_shipment_refuses_what_the_model_or_amazon_forbids(sim, token):
    order_id = sim.amazon.add_order([line()])
    item = sim.amazon.orders[order_id]["items"][0]["OrderItemId"]
    no_name = confirm(sim, token, order_id, [(item, 1)], carrier="Other")
    assert no_name.status_code == 400
    typo = confirm(sim, token, order_id, [(item, 1)], trackingNumbr="x")
    assert "not in the model" in typo.json()["errors"][0]["message"]
    fba = sim.amazon.add_order([line()], fulfillment="AFN")
    fba_item = sim.amazon.orders[fba]["items"][0]["OrderItemId"]
    assert confirm(sim, token, fba, [(fba_item, 1)]).status_code == 400


def patch_listing(sim, token, sku, quantity, seller="A2SIMSELLER0001", **body):
    patch = {
        "op": "replace",
        "path": "/attributes/fulfillment_availability",
        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
    }
    return requests.patch(
        f"{sim.base_url}/listings/2021-08-01/items/{seller}/{sku}",
        params={"marketplaceIds": US},
        json={"productType": "PRODUCT", "patches": [patch], **body},
        headers={"x-amz-access-token": token},
        timeout=10,
    )


def test_patch_listings_item_sets_the_mfn_quantity(sim, token):
    sim.amazon.add_listing("SIM-000001", quantity=3)
    answer = patch_listing(sim, token, "SIM-000001", 7)
    assert answer.status_code == 200
    assert answer.json()["status"] == "ACCEPTED"
    assert sim.amazon.listings["SIM-000001"] == {"quantity": 7, "patches": 1}
    unlisted = patch_listing(sim, token, "NOT-LISTED", 1).json()
    assert unlisted["status"] == "INVALID"
    assert unlisted["issues"][0]["severity"] == "ERROR"
    assert patch_listing(sim, token, "SIM-000001", 1, seller="OTHER").status_code == 403
    typo = patch_listing(sim, token, "SIM-000001", 1, productTyp="x")
    assert typo.status_code == 400
    assert sim.amazon.listings["SIM-000001"]["quantity"] == 7
