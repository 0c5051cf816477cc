"""The SP-API stand-in's settlement reports (Reports API) and restricted
data tokens (Tokens API), answers checked against Amazon's models."""

import csv
import gzip
import io
from decimal import Decimal

import requests
from test_sim_amazon import line, lwa, sp_get

from simulator.amazon_reports import SETTLEMENT_REPORT

REPORTS = "/reports/2021-06-30/reports"


def rdt(sim, token, path, elements=("shippingAddress",)):
    body = {
        "restrictedResources": [
            {"method": "GET", "path": path, "dataElements": list(elements)}
        ]
    }
    return requests.post(
        f"{sim.base_url}/tokens/2021-03-01/restrictedDataToken",
        json=body,
        headers={"x-amz-access-token": token},
        timeout=10,
    )


def test_a_settlement_report_is_listed_and_downloaded_as_gzip_flat_file(sim):
    token = lwa(sim).json()["access_token"]
    fba = sim.amazon.add_order([line(price="20.00", tax="1.60")], fulfillment="AFN")
    settlement_id, report_id = sim.amazon.reports.settle(
        [fba], refunds=[{"order_id": fba, "principal": "20.00"}]
    )
    listed = sp_get(
        sim, REPORTS, token, reportTypes=SETTLEMENT_REPORT, pageSize=10
    ).json()
    assert [r["reportId"] for r in listed["reports"]] == [report_id]
    assert sp_get(sim, f"{REPORTS}/{report_id}", token).json()["processingStatus"] == (
        "DONE"
    )
    document_id = listed["reports"][0]["reportDocumentId"]
    document = sp_get(sim, f"/reports/2021-06-30/documents/{document_id}", token)
    assert document.json()["compressionAlgorithm"] == "GZIP"
    raw = requests.get(document.json()["url"], timeout=10).content
    rows = list(
        csv.DictReader(io.StringIO(gzip.decompress(raw).decode()), delimiter="\t")
    )
    summary, details = rows[0], rows[1:]
    assert summary["settlement-id"] == settlement_id
    assert Decimal(summary["total-amount"]) == sum(
        Decimal(row["amount"]) for row in details
    )
    kinds = {(row["amount-type"], row["amount-description"]) for row in details}
    assert ("ItemFees", "FBAPerUnitFulfillmentFee") in kinds
    assert ("ItemWithheldTax", "MarketplaceFacilitatorTax-Principal") in kinds
    assert ("ItemFees", "RefundCommission") in kinds


def test_reports_page_with_next_token_alone(sim):
    token = lwa(sim).json()["access_token"]
    order = sim.amazon.add_order([line()])
    made = [sim.amazon.reports.settle([order])[1] for _index in range(3)]
    first = sp_get(sim, REPORTS, token, reportTypes=SETTLEMENT_REPORT, pageSize=2)
    page = first.json()
    assert len(page["reports"]) == 2
    refused = sp_get(sim, REPORTS, token, nextToken=page["nextToken"], pageSize=2)
    assert refused.status_code == 400
    second = sp_get(sim, REPORTS, token, nextToken=page["nextToken"]).json()
    listed = [r["reportId"] for r in page["reports"] + second["reports"]]
    assert sorted(listed) == sorted(made)
    assert "nextToken" not in second


def test_get_reports_is_throttled_at_its_own_rate(sim):
    token = lwa(sim).json()["access_token"]
    sim.amazon.drain("getReports")
    answer = sp_get(sim, REPORTS, token, reportTypes=SETTLEMENT_REPORT)
    assert answer.status_code == 429
    assert answer.headers["x-amzn-RateLimit-Limit"] == "0.0222"


def test_buyer_pii_only_with_a_restricted_data_token(sim):
    token = lwa(sim).json()["access_token"]
    order_id = sim.amazon.add_order([line()])
    path = f"/orders/v0/orders/{order_id}"
    plain = sp_get(sim, path, token).json()["payload"]
    assert "AddressLine1" not in plain["ShippingAddress"]
    assert sp_get(sim, f"{path}/address", token).status_code == 403
    answer = rdt(sim, token, "/orders/v0/orders/{orderId}", ("shippingAddress",))
    restricted = answer.json()["restrictedDataToken"]
    assert restricted.startswith("Atz.sprdt|")
    shown = sp_get(sim, path, restricted).json()["payload"]
    assert shown["ShippingAddress"]["AddressLine1"]
    assert "BuyerName" not in shown["BuyerInfo"], "buyerInfo was not asked for"
    # The RDT opens the paths it was made for, nothing else.
    assert sp_get(sim, "/orders/v0/orders", restricted).status_code == 403
    assert rdt(sim, token, path, ()).status_code == 200
    assert rdt(sim, "not-a-token", path).status_code == 403
