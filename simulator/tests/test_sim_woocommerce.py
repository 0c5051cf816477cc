"""WooCommerce REST v3: auth, paging, batches, stock, orders and refunds."""

from decimal import Decimal

import requests

from simulator.testing import woo


def test_wrong_credentials_are_401_with_woocommerce_error(sim):
    response = woo(sim, "GET", "products", auth=("ck_sim", "wrong"))
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "woocommerce_rest_authentication_error"
    assert body["data"] == {"status": 401}
    ok = requests.get(
        f"{sim.base_url}/wp-json/wc/v3/products",
        params={"consumer_key": "ck_sim", "consumer_secret": "cs_sim"},
        timeout=10,
    )
    assert ok.status_code == 200


def test_lists_page_with_wp_headers(sim):
    sim.scenario.seed_catalogue(count=20, quantity=1, max_variants=1)
    first = woo(sim, "GET", "products", params={"per_page": 7})
    total = int(first.headers["X-WP-Total"])
    assert total == len(
        [p for p in sim.state.woo_products.values() if p["type"] != "variation"]
    )
    assert first.headers["X-WP-TotalPages"] == str(-(-total // 7))
    assert 'rel="next"' in first.headers["Link"]
    last = woo(sim, "GET", "products", params={"per_page": 7, "page": -(-total // 7)})
    assert len(last.json()) == total - 7 * (-(-total // 7) - 1)
    assert 'rel="next"' not in last.headers.get("Link", "")
    too_many = woo(sim, "GET", "products", params={"per_page": 101})
    assert too_many.status_code == 400
    assert too_many.json()["code"] == "rest_invalid_param"


def test_batch_over_100_objects_is_413(sim):
    items = [{"id": 100001, "stock_quantity": 1}] * 101
    response = woo(sim, "POST", "products/batch", json={"update": items})
    assert response.status_code == 413
    assert response.json() == {
        "code": "woocommerce_rest_request_entity_too_large",
        "message": "Unable to accept more than 100 items for this request.",
        "data": {"status": 413},
    }
    mixed = {"update": items[:60], "delete": [1] * 41}
    assert woo(sim, "POST", "products/batch", json=mixed).status_code == 413


def test_batch_sets_stock_of_simple_products_and_variations(sim):
    simple = next(p for p in sim.state.woo_products.values() if p["type"] == "simple")
    variation = next(
        p for p in sim.state.woo_products.values() if p["type"] == "variation"
    )
    answer = woo(
        sim,
        "POST",
        "products/batch",
        json={
            "update": [
                {"id": simple["id"], "stock_quantity": 3},
                {"id": variation["id"], "stock_quantity": 3},
            ]
        },
    ).json()["update"]
    assert answer[0]["stock_quantity"] == 3
    assert answer[0]["stock_status"] == "instock"
    assert answer[1]["error"]["code"] == "woocommerce_rest_product_invalid_id"
    route = f"products/{variation['parent_id']}/variations/batch"
    answer = woo(
        sim,
        "POST",
        route,
        json={"update": [{"id": variation["id"], "stock_quantity": 0}]},
    ).json()["update"]
    assert answer[0]["stock_quantity"] == 0
    assert answer[0]["stock_status"] == "outofstock"
    assert sim.state.woo_products[str(variation["id"])]["stock_quantity"] == 0


def test_products_filter_by_sku(sim):
    found = woo(sim, "GET", "products", params={"sku": "SIM-000002"}).json()
    assert [p["sku"] for p in found] == ["SIM-000002"]
    keys = set(found[0])
    assert {
        "sku",
        "stock_quantity",
        "manage_stock",
        "stock_status",
        "date_modified_gmt",
    } <= keys


def test_orders_modified_after_and_refunds(sim):
    summary = sim.scenario.create_order(
        channel="woocommerce", taxes_included=True, order_discount="3", notify=False
    )
    order = woo(sim, "GET", f"orders/{summary['id']}").json()
    lines = sum(Decimal(line["total"]) for line in order["line_items"])
    assert lines + Decimal(order["shipping_total"]) + Decimal(
        order["total_tax"]
    ) == Decimal(order["total"])
    stamp = order["date_modified_gmt"]
    assert woo(sim, "GET", "orders", params={"modified_after": stamp}).json() == []
    listed = woo(sim, "GET", "orders", params={"modified_after": "2000-01-01T00:00:00"})
    assert [o["id"] for o in listed.json()] == [order["id"]]
    line = order["line_items"][0]
    stock_before = sim.state.woo_products[
        str(line["variation_id"] or line["product_id"])
    ]["stock_quantity"]
    refund = woo(
        sim,
        "POST",
        f"orders/{order['id']}/refunds",
        json={
            "amount": "5.00",
            "reason": "damaged",
            "api_restock": True,
            "line_items": [{"id": line["id"], "quantity": 1}],
        },
    )
    assert refund.status_code == 201, refund.text
    assert refund.json()["line_items"][0]["quantity"] == -1
    refreshed = woo(sim, "GET", f"orders/{order['id']}").json()
    assert refreshed["refunds"] == [
        {"id": refund.json()["id"], "reason": "damaged", "total": "-5.00"}
    ]
    product = sim.state.woo_products[str(line["variation_id"] or line["product_id"])]
    assert product["stock_quantity"] == stock_before + 1
    listed = woo(sim, "GET", f"orders/{order['id']}/refunds").json()
    assert [r["amount"] for r in listed] == ["5.00"]
    too_much = woo(
        sim, "POST", f"orders/{order['id']}/refunds", json={"amount": "99999"}
    )
    assert too_much.status_code == 500


def test_unknown_routes_and_ids(sim):
    assert woo(sim, "GET", "nothing").json()["code"] == "rest_no_route"
    missing = woo(sim, "GET", "orders/123456")
    assert missing.status_code == 404
    assert missing.json()["code"] == "woocommerce_rest_shop_order_invalid_id"


def test_variations_batch_over_100_objects_is_413(sim):
    variation = next(
        p for p in sim.state.woo_products.values() if p["type"] == "variation"
    )
    route = f"products/{variation['parent_id']}/variations/batch"
    items = [{"id": variation["id"], "stock_quantity": 1}] * 101
    response = woo(sim, "POST", route, json={"update": items})
    assert response.status_code == 413
    assert response.json()["code"] == "woocommerce_rest_request_entity_too_large"
    assert sim.state.woo_products[str(variation["id"])]["stock_quantity"] == 5
    assert woo(sim, "POST", route, json={"update": items[:100]}).status_code == 200
    assert sim.state.woo_products[str(variation["id"])]["stock_quantity"] == 1
