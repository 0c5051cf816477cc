"""SP-API stand-in, continued: settlement reports (Reports API 2021-06-30)
and restricted data tokens (Tokens API 2021-03-01) for buyer PII.

Amazon closes a settlement about every 14 days and files its flat file V2 as
a `GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2` report: the seller lists the
reports (getReports), asks for the document (getReportDocument: a presigned
URL, gzip-compressed) and downloads it without the access token. `settle()`
closes a settlement of the simulator's orders with Amazon's amount types:
principal, shipping, marketplace facilitator tax collected and withheld,
promotions, referral fees (Commission), FBA fulfilment fees, refunds,
reimbursements and other fees.

Buyer names, street addresses and phones are PII: getOrder shows them only
with a restricted data token (RDT) covering the order's path and the data
elements asked for; getOrderAddress and getOrderBuyerInfo refuse an ordinary
access token. Queries, bodies and answers are checked against the copied
models (`reference/amazon/reports_2021-06-30.json`, `tokens_2021-03-01.json`,
`ordersV0.json`).
"""

import gzip
import re
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from werkzeug.wrappers import Response

from .amazon_schema import SchemaError, check_body, check_query
from .util import money, parse_when

REPORTS_MODEL = "reports_2021-06-30.json"
TOKENS_MODEL = "tokens_2021-03-01.json"
REPORTS_PATH = "/reports/2021-06-30/reports"
DOCUMENTS_PATH = "/reports/2021-06-30/documents"
TOKENS_PATH = "/tokens/2021-03-01/restrictedDataToken"
# Where the presigned document URLs point (Amazon's are on S3).
DOWNLOAD_PREFIX = "/sim-s3/reports/"
PREFIXES = (REPORTS_PATH, DOCUMENTS_PATH, TOKENS_PATH, DOWNLOAD_PREFIX)
SETTLEMENT_REPORT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
# (requests per second, burst): the Usage Plans of the models.
USAGE_PLANS = {
    "getReports": (0.0222, 10),
    "getReport": (2, 15),
    "getReportDocument": (0.0167, 15),
    "createRestrictedDataToken": (1, 10),
    "getOrderAddress": (0.5, 30),
    "getOrderBuyerInfo": (0.5, 30),
}
OPERATION_MODELS = {
    "getReports": REPORTS_MODEL,
    "getReport": REPORTS_MODEL,
    "getReportDocument": REPORTS_MODEL,
    "createRestrictedDataToken": TOKENS_MODEL,
}
RESTRICTED = ("getOrderAddress", "getOrderBuyerInfo")
RDT_PREFIX = "Atz.sprdt|"
RDT_TTL = 3600
COLUMNS = (
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "order-id",
    "merchant-order-id",
    "adjustment-id",
    "shipment-id",
    "marketplace-name",
    "amount-type",
    "amount-description",
    "amount",
    "fulfillment-id",
    "posted-date",
    "posted-date-time",
    "order-item-code",
    "merchant-order-item-id",
    "merchant-adjustment-item-id",
    "sku",
    "quantity-purchased",
    "promotion-id",
)
REFERRAL_RATE = Decimal("0.15")
# Amazon keeps 20% of the referral fee it refunds, at most 5.00.
REFUND_ADMIN_RATE, REFUND_ADMIN_CAP = Decimal("0.20"), Decimal("5.00")
CENT = Decimal("0.01")
DENIED = {
    "code": "Unauthorized",
    "message": "Access to requested resource is denied.",
    "details": "",
}
NEEDS_RDT = {
    "code": "Unauthorized",
    "message": "Access to requested resource is denied.",
    "details": "This operation returns restricted data: call it with a "
    "restricted data token.",
}
# The buyer data an RDT discloses (the orders carry none of it otherwise).
BUYER_NAME = "Jordan Buyer"
STREET = "410 Terry Ave N"
PHONE = "+1 206-555-0100"


class AmazonReports:
    """The Reports and Tokens APIs of one simulated seller account."""

    def __init__(self, partner):
        self.partner = partner
        self.reports = {}  # reportId -> Report
        self.documents = {}  # reportDocumentId -> flat file text
        self.page_tokens = {}  # nextToken -> reports still to list
        self.rdts = {}  # RDT -> (expires at, [(method, path regex, elements)])
        self.rdt_requests = 0
        self.downloads = 0
        self.compress = True

    # === ROUTING ===

    def operation(self, request):
        """(operationId, path arguments) of a request of these APIs, or None."""
        path, method = request.path.rstrip("/"), request.method
        if path == TOKENS_PATH:
            return ("createRestrictedDataToken", ()) if method == "POST" else None
        if method != "GET":
            return None
        if path == REPORTS_PATH:
            return "getReports", ()
        for prefix, name in (
            (f"{REPORTS_PATH}/", "getReport"),
            (f"{DOCUMENTS_PATH}/", "getReportDocument"),
        ):
            rest = path[len(prefix) :] if path.startswith(prefix) else ""
            if rest and "/" not in rest:
                return name, (rest,)
        match = re.fullmatch(r"/orders/v0/orders/([^/]+)/(address|buyerInfo)", path)
        if match:
            name = "getOrderAddress" if match[2] == "address" else "getOrderBuyerInfo"
            return name, (match[1],)
        return None

    def dispatch(self, name, request, args):
        """(status, body) of one operation of these APIs."""
        if name == "createRestrictedDataToken":
            return self._create_rdt(request)
        if name == "getReports":
            return self._get_reports(request)
        if name in RESTRICTED:
            return self._restricted_order(name, request, args[0])
        with self.partner.lock:
            report = self.reports.get(args[0]) if name == "getReport" else None
            document = self.documents.get(args[0])
        if name == "getReport" and report:
            return 200, report
        if name == "getReportDocument" and document is not None:
            return 200, self._document(request, args[0])
        error = {"code": "NotFound", "message": f"{args[0]} not found"}
        return 404, {"errors": [error]}

    def check_token(self, name, request):
        """None when the request's token opens `name`, else the error: an
        RDT opens the paths it was made for; restricted operations need one."""
        token = request.headers.get("x-amz-access-token") or ""
        if not token.startswith(RDT_PREFIX):
            if name in RESTRICTED:
                return NEEDS_RDT
            return self.partner._check_token(token)
        if self.elements(request) is None:
            return DENIED
        return None

    def elements(self, request):
        """The data elements the request's RDT discloses for its path; None
        without a valid RDT for it."""
        token = request.headers.get("x-amz-access-token") or ""
        with self.partner.lock:
            expires_at, resources = self.rdts.get(token, (0, ()))
        if self.partner.clock() >= expires_at:
            return None
        for method, pattern, elements in resources:
            if method == request.method and pattern.fullmatch(request.path):
                return elements
        return None

    # === RESTRICTED DATA ===

    def _create_rdt(self, request):
        body = request.get_json(silent=True)
        try:
            check_body("createRestrictedDataToken", body, TOKENS_MODEL)
        except SchemaError as exc:
            return 400, {"errors": [{"code": "InvalidInput", "message": str(exc)}]}
        resources = []
        for resource in body["restrictedResources"]:
            # A generic path ({orderId}) covers every order.
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(resource["path"]))
            elements = frozenset(resource.get("dataElements") or ())
            resources.append((resource["method"], re.compile(pattern), elements))
        with self.partner.lock:
            self.rdt_requests += 1
            token = f"{RDT_PREFIX}sim{self.partner.state.random.getrandbits(96):024x}"
            self.rdts[token] = (self.partner.clock() + RDT_TTL, resources)
        return 200, {"restrictedDataToken": token, "expiresIn": RDT_TTL}

    def disclosed(self, order, request):
        """`order` as getOrder shows it to the request: with the buyer's
        name, street and phone only for the data elements of its RDT."""
        elements = self.elements(request) or frozenset()
        order = dict(order)
        if "shippingAddress" in elements:
            order["ShippingAddress"] = _full_address(order)
        if "buyerInfo" in elements:
            order["BuyerInfo"] = {**order.get("BuyerInfo", {}), "BuyerName": BUYER_NAME}
        return order

    def _restricted_order(self, name, request, order_id):
        with self.partner.lock:
            entry = self.partner.orders.get(order_id)
        if entry is None:
            error = {"code": "InvalidInput", "message": f"Invalid order id {order_id}"}
            return 404, {"errors": [error]}
        order = entry["order"]
        if name == "getOrderAddress":
            payload = {
                "AmazonOrderId": order_id,
                "ShippingAddress": _full_address(order),
            }
        else:
            payload = {
                "AmazonOrderId": order_id,
                "BuyerEmail": order["BuyerInfo"]["BuyerEmail"],
                "BuyerName": BUYER_NAME,
            }
        return 200, {"payload": payload}

    # === REPORTS ===

    def _get_reports(self, request):
        """getReports: by reportTypes and createdSince, newest first,
        `pageSize` (at most 100) a page, then nextToken alone."""
        query = request.args
        try:
            check_query(
                "getReports", {k: query.getlist(k) for k in query}, REPORTS_MODEL
            )
        except SchemaError as exc:
            return 400, {"errors": [{"code": "InvalidInput", "message": str(exc)}]}
        token = query.get("nextToken")
        if token:
            if len(query) > 1:
                message = "nextToken must be the only parameter"
                return 400, {"errors": [{"code": "InvalidInput", "message": message}]}
            with self.partner.lock:
                found = self.page_tokens.pop(token, None)
            if found is None:
                error = {"code": "InvalidInput", "message": "Invalid nextToken"}
                return 400, {"errors": [error]}
        else:
            found, error = self._select(query)
            if error:
                return 400, {"errors": [{"code": "InvalidInput", "message": error}]}
        size = int(query.get("pageSize") or 10)
        page, rest = found[:size], found[size:]
        answer = {"reports": page}
        if rest:
            with self.partner.lock:
                token = f"sim-rep-{self.partner.state.random.getrandbits(64):016x}"
                self.page_tokens[token] = rest
            answer["nextToken"] = token
        return 200, answer

    def _select(self, query):
        types = set(",".join(query.getlist("reportTypes")).split(","))
        if not types - {""}:
            return [], "reportTypes is required"
        size = int(query.get("pageSize") or 10)
        if not 1 <= size <= 100:  # noqa: PLR2004
            return [], "pageSize must be between 1 and 100"
        since = query.get("createdSince")
        since = _stamp(parse_when(since)) if since else ""
        with self.partner.lock:
            found = [
                dict(report)
                for report in self.reports.values()
                if report["reportType"] in types and report["createdTime"] >= since
            ]
        found.sort(key=lambda r: (r["createdTime"], int(r["reportId"])), reverse=True)
        return found, None

    def _document(self, request, document_id):
        answer = {
            "reportDocumentId": document_id,
            "url": f"{request.host_url.rstrip('/')}{DOWNLOAD_PREFIX}{document_id}",
        }
        if self.compress:
            answer["compressionAlgorithm"] = "GZIP"
        return answer

    def download(self, request):
        """The presigned URL of a document: its bytes, no access token."""
        document_id = request.path[len(DOWNLOAD_PREFIX) :]
        with self.partner.lock:
            text = self.documents.get(document_id)
            self.downloads += 1
        if text is None or request.method != "GET":
            return Response("NoSuchKey", status=404, mimetype="text/plain")
        data = text.encode()
        return Response(
            gzip.compress(data) if self.compress else data,
            mimetype="application/octet-stream",
        )

    # === SCENARIO ===

    def settle(
        self,
        order_ids,
        *,
        refunds=(),
        reimbursements=(),
        other_fees=(),
        fba_fee="3.22",
        transfer_difference="0.00",
    ):
        """Close a settlement of the shipped `order_ids` and file its report.

        :param refunds: [{"order_id", "principal"}] refunded item price, and
            optionally "adjustment_id", "sku", "quantity" (refunded units),
            "shipping", "tax", "shipping_tax" (given back) and "facilitated"
            (the tax was Amazon's: withheld rows cancel it)
        :param reimbursements: [{"amount", "description", "sku"}] FBA
            inventory reimbursements
        :param other_fees: [(description, amount)] account-level fees
            (negative), e.g. ("Subscription Fee", "-39.99")
        :param fba_fee: FBA fulfilment fee per unit of an FBA order
        :param transfer_difference: added to the transfer (total-amount) only,
            so that it differs from the report's lines
        :return: (settlement-id, reportId)
        """
        rows = []
        for order_id in order_ids:
            rows += self._order_rows(order_id, Decimal(fba_fee))
        for refund in refunds:
            rows += self._refund_rows(refund)
        for reimbursement in reimbursements:
            rows.append(
                {
                    "transaction-type": "other-transaction",
                    "amount-type": "FBA Inventory Reimbursement",
                    "amount-description": reimbursement.get(
                        "description", "WAREHOUSE_DAMAGE"
                    ),
                    "amount": Decimal(reimbursement["amount"]),
                    "sku": reimbursement.get("sku", ""),
                }
            )
        for description, amount in other_fees:
            rows.append(
                {
                    "transaction-type": "other-transaction",
                    "amount-type": "other-transaction",
                    "amount-description": description,
                    "amount": Decimal(amount),
                }
            )
        total = sum((row["amount"] for row in rows), Decimal(0))
        return self._file(rows, total + Decimal(transfer_difference))

    def _order_rows(self, order_id, fba_fee):
        with self.partner.lock:
            entry = self.partner.orders[order_id]
        order = entry["order"]
        common = {
            "transaction-type": "Order",
            "order-id": order_id,
            "shipment-id": f"S{order_id[-7:]}",
            "fulfillment-id": order["FulfillmentChannel"],
        }
        rows = []
        for item in entry["items"]:
            sold = {**common, "sku": item["SellerSKU"]}
            sold["order-item-code"] = item["OrderItemId"]
            sold["quantity-purchased"] = str(item["QuantityOrdered"])
            principal = _amount(item, "ItemPrice")
            promotion = _amount(item, "PromotionDiscount")
            facilitated = "TaxCollection" in item
            parts = [
                ("ItemPrice", "Principal", principal),
                ("ItemPrice", "Shipping", _amount(item, "ShippingPrice")),
                ("ItemPrice", "Tax", _amount(item, "ItemTax")),
                ("ItemPrice", "ShippingTax", _amount(item, "ShippingTax")),
                ("Promotion", "Principal", -promotion),
                ("Promotion", "Shipping", -_amount(item, "ShippingDiscount")),
            ]
            if facilitated:
                parts += [
                    (
                        "ItemWithheldTax",
                        "MarketplaceFacilitatorTax-Principal",
                        -_amount(item, "ItemTax"),
                    ),
                    (
                        "ItemWithheldTax",
                        "MarketplaceFacilitatorTax-Shipping",
                        -_amount(item, "ShippingTax"),
                    ),
                ]
            parts.append(
                ("ItemFees", "Commission", -_fee(principal - promotion, REFERRAL_RATE))
            )
            if order["FulfillmentChannel"] == "AFN":
                units = item["QuantityOrdered"]
                parts.append(("ItemFees", "FBAPerUnitFulfillmentFee", -fba_fee * units))
            rows += [
                {
                    **sold,
                    "amount-type": kind,
                    "amount-description": what,
                    "amount": amount,
                }
                for kind, what, amount in parts
                if amount
            ]
        return rows

    def _refund_rows(self, refund):
        order_id = refund["order_id"]
        principal = Decimal(refund["principal"])
        commission = _fee(principal, REFERRAL_RATE)
        admin = min(_fee(commission, REFUND_ADMIN_RATE), REFUND_ADMIN_CAP)
        adjustment = f"A{self.partner.state.new_id('amazon_adjustment', 70000)}"
        common = {
            "transaction-type": "Refund",
            "order-id": order_id,
            "adjustment-id": refund.get("adjustment_id", adjustment),
            "sku": refund.get("sku", ""),
        }
        if refund.get("quantity"):
            common["quantity-purchased"] = str(refund["quantity"])
        given = [("ItemPrice", "Principal", principal)]
        for key, what in (
            ("shipping", "Shipping"),
            ("tax", "Tax"),
            ("shipping_tax", "ShippingTax"),
        ):
            if refund.get(key):
                given.append(("ItemPrice", what, Decimal(refund[key])))
        if refund.get("facilitated"):
            for key, what in (("tax", "Principal"), ("shipping_tax", "Shipping")):
                if refund.get(key):
                    withheld = f"MarketplaceFacilitatorTax-{what}"
                    given.append(("ItemWithheldTax", withheld, -Decimal(refund[key])))
        return [
            {
                **common,
                "amount-type": kind,
                "amount-description": what,
                "amount": -amount,
            }
            for kind, what, amount in given
        ] + [
            {
                **common,
                "amount-type": "ItemFees",
                "amount-description": "Commission",
                "amount": commission,
            },
            {
                **common,
                "amount-type": "ItemFees",
                "amount-description": "RefundCommission",
                "amount": -admin,
            },
        ]

    def _file(self, rows, total):
        """The report and its document of a settlement of `rows`."""
        state = self.partner.state
        now = state.wall_clock()
        settlement_id = str(state.new_id("amazon_settlement", 11000000000))
        report_id = str(state.new_id("amazon_report", 50000000))
        document_id = f"amzn1.spdoc.1.4.na.sim{report_id}"
        start = now - timedelta(days=14)
        header = {
            "settlement-id": settlement_id,
            "settlement-start-date": _flat_stamp(start),
            "settlement-end-date": _flat_stamp(now),
            "deposit-date": _flat_stamp(now),
            "total-amount": money(total),
            "currency": "USD",
        }
        lines = ["\t".join(COLUMNS), "\t".join(header.get(c, "") for c in COLUMNS)]
        for row in rows:
            values = {
                **row,
                "settlement-id": settlement_id,
                "amount": money(row["amount"]),
                "marketplace-name": "Amazon.com",
                "posted-date": now.strftime("%Y-%m-%d"),
                "posted-date-time": _flat_stamp(now),
            }
            lines.append("\t".join(str(values.get(c, "")) for c in COLUMNS))
        report = {
            "reportId": report_id,
            "reportType": SETTLEMENT_REPORT,
            "dataStartTime": _stamp(start),
            "dataEndTime": _stamp(now),
            "createdTime": _stamp(now),
            "processingStatus": "DONE",
            "reportDocumentId": document_id,
        }
        with self.partner.lock:
            self.reports[report_id] = report
            self.documents[document_id] = "\n".join(lines) + "\n"
        return settlement_id, report_id


def _full_address(order):
    return {
        **order["ShippingAddress"],
        "Name": BUYER_NAME,
        "AddressLine1": STREET,
        "Phone": PHONE,
    }


def _amount(item, key):
    return Decimal(item[key]["Amount"]) if key in item else Decimal(0)


def _fee(amount, rate):
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def _stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _flat_stamp(moment):
    """The flat file's dates: 2026-07-01 12:00:00 UTC."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
