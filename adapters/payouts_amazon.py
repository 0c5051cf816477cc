"""Amazon settlements as payouts: the settlement reports of the Reports API
(`GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`), one payout per settlement.

Amazon files a report when it closes a settlement (about every 14 days); its
first row after the header states the settlement id, period, deposit date and
`total-amount`, the transfer to the seller's bank. Every other row is one
amount of one transaction. The rows of an order become one `charge` line
(principal, shipping, promotions, tax and the marketplace facilitator tax
Amazon withholds: what the buyer paid for what the seller sold), its fees
(referral Commission, FBA fulfilment fees) the line's `fee`; a refund
likewise, negative; account-level rows (reimbursements, subscription or
storage fees, reserves) one line each.
"""

import csv
import gzip
import hashlib
import io
import threading
import time
from datetime import UTC, datetime

from .exceptions import ChannelAuthError, ChannelPayloadError, ChannelThrottledError
from .records import (
    PAYOUT_ADJUSTMENT,
    PAYOUT_CHARGE,
    PAYOUT_FEE,
    PAYOUT_OTHER,
    PAYOUT_REFUND,
    PAYOUT_RESERVE,
    ZERO,
    PayoutData,
    PayoutLineData,
    RefundNotice,
    UnreadablePayout,
    money,
)
from .refunds_amazon import REFUND_TOPIC, parse_amazon_refund, refund_deliveries

SETTLEMENT_REPORT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
PROCESSOR = "amazon"
REPORTS_PATH = "/reports/2021-06-30/reports"
DOCUMENTS_PATH = "/reports/2021-06-30/documents"
REPORT_PAGE = 100
# A settlement flat file of a large seller is a few MB; more is not one.
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
REQUIRED_COLUMNS = (
    "settlement-id",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "order-id",
    "amount-type",
    "amount-description",
    "amount",
)
# The rows of one order or refund: one line, fees apart.
ORDER_TYPES = {"order": PAYOUT_CHARGE, "refund": PAYOUT_REFUND}
FEE_AMOUNT_TYPES = frozenset({"itemfees", "shipmentfees", "orderfees"})
RESERVE_WORDS = ("reserve",)
REIMBURSEMENT_TYPES = frozenset({"fba inventory reimbursement"})
# Rates and bursts of the Reports and Tokens API operations (their models'
# Usage Plans).
USAGE_PLANS = {
    "getReports": (0.0222, 10),
    "getReportDocument": (0.0167, 15),
    "createRestrictedDataToken": (1, 10),
}
TOKENS_PATH = "/tokens/2021-03-01/restrictedDataToken"
# One restricted data token opens getOrder of every order (a generic path)
# for the buyer's name and shipping address.
RESTRICTED_RESOURCE = {
    "method": "GET",
    "path": "/orders/v0/orders/{orderId}",
    "dataElements": ["buyerInfo", "shippingAddress"],
}
# Renewed this long before Amazon's expiry.
RDT_MARGIN = 300
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S %Z", "%Y-%m-%dT%H:%M:%S%z", "%d.%m.%Y %H:%M:%S %Z")


def parse_settlement(text):
    """(PayoutData, [PayoutLineData]) of a settlement flat file V2.
    ChannelPayloadError when it is not one."""
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t", restval=""))
    missing = [c for c in REQUIRED_COLUMNS if c not in (rows[0] if rows else {})]
    if missing:
        raise ChannelPayloadError(
            f"The settlement report lacks the columns {', '.join(missing)}."
        )
    summary = [r for r in rows if r["total-amount"] and not r["transaction-type"]]
    if len(summary) != 1:
        raise ChannelPayloadError(
            "The settlement report has no single summary row (total-amount)."
        )
    head = summary[0]
    ref = head["settlement-id"]
    if not ref:
        raise ChannelPayloadError("The settlement report has no settlement-id.")
    currency = head["currency"]
    payout = PayoutData(
        external_ref=ref,
        processor=PROCESSOR,
        status="paid",
        amount=money(head["total-amount"], f"settlement {ref} total-amount"),
        currency=currency,
        issued_at=parse_date(head["deposit-date"]),
        bank_reference=ref,
    )
    details = [r for r in rows if r["transaction-type"]]
    if len(details) + 1 != len(rows):
        raise ChannelPayloadError(
            f"Settlement {ref}: a row has neither a transaction type nor the "
            "total (cut or shifted columns)."
        )
    return payout, _lines(ref, details, currency)


def _lines(ref, rows, currency):
    grouped, lines = {}, []
    for index, row in enumerate(rows, start=1):
        if not row["amount"].strip():
            # A cut row: its amount would silently count as zero.
            raise ChannelPayloadError(f"Settlement {ref}: row {index} has no amount.")
        amount = money(row["amount"], f"settlement {ref} row {index} amount")
        kind = ORDER_TYPES.get(row["transaction-type"].strip().lower())
        if kind and row["order-id"]:
            key = (kind, row["order-id"], row.get("adjustment-id") or "")
            grouped.setdefault(key, []).append((row, amount))
        else:
            lines.append(_account_line(row, amount, index, currency))
    return [_order_line(key, group, currency) for key, group in grouped.items()] + (
        lines
    )


def _order_line(key, group, currency):
    """One order's (or refund's) rows: the amounts the buyer paid or got
    back, and Amazon's fees on them."""
    kind, order_ref, adjustment = key
    amount = fee = ZERO
    for row, value in group:
        if row["amount-type"].strip().lower() in FEE_AMOUNT_TYPES:
            fee -= value
        else:
            amount += value
    first = group[0][0]
    return PayoutLineData(
        external_ref=f"{kind}:{order_ref}:{adjustment}".rstrip(":"),
        kind=kind,
        raw_type=first["transaction-type"],
        amount=amount,
        fee=fee,
        net=amount - fee,
        currency=currency,
        # A refund is known by its adjustment; its order is the "charge".
        transaction_ref=adjustment or order_ref,
        charge_ref=order_ref if kind == PAYOUT_REFUND else None,
        order_ref=order_ref,
        order_name=order_ref,
        processed_at=parse_date(first.get("posted-date-time") or ""),
    )


def _account_line(row, amount, index, currency):
    """A row of no order: a reimbursement, a fee, a reserve, or other."""
    amount_type = row["amount-type"].strip().lower()
    description = row["amount-description"].strip()
    text = f"{amount_type} {description.lower()} {row['transaction-type'].lower()}"
    if amount_type in REIMBURSEMENT_TYPES:
        kind = PAYOUT_ADJUSTMENT
    elif any(word in text for word in RESERVE_WORDS):
        kind = PAYOUT_RESERVE
    elif "fee" in text and amount < 0:
        kind = PAYOUT_FEE
    else:
        kind = PAYOUT_OTHER
    # A fee is the processor's: in `fee`, so that it counts with the others.
    fee = -amount if kind == PAYOUT_FEE else ZERO
    return PayoutLineData(
        external_ref=f"row:{index}",
        kind=kind,
        raw_type=" ".join(p for p in (row["amount-type"], description) if p),
        amount=ZERO if kind == PAYOUT_FEE else amount,
        fee=fee,
        net=amount,
        currency=currency,
        order_ref=row["order-id"] or None,
        processed_at=parse_date(row.get("posted-date-time") or ""),
    )


def parse_date(text):
    """An aware UTC datetime of the flat file's dates, None when empty."""
    text = (text or "").strip()
    if not text:
        return None
    for pattern in DATE_FORMATS:
        try:
            moment = datetime.strptime(text, pattern)
        except ValueError:
            continue
        return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)
    raise ChannelPayloadError(f"Unreadable date in the settlement report: {text!r}")


def fetch_amazon_settlements(get, download, since, cursor=None, refunds=None):
    """One getReports page of settlement reports created since `since`,
    newest first, each downloaded and parsed.

    :param get: the adapter's SP-API GET (operation, path, params) -> JSON
    :param download: url -> bytes of a presigned document URL
    :param refunds: a dict filled with each settlement's refund deliveries
        (`refunds_amazon.refund_deliveries`), by settlement id
    :return: ([(PayoutData, [PayoutLineData])], next token or None); an
        unreadable report is (UnreadablePayout, None)
    """
    if cursor:
        params = {"nextToken": cursor}
    else:
        params = {"reportTypes": SETTLEMENT_REPORT, "pageSize": REPORT_PAGE}
        if since:
            params["createdSince"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    page = get("getReports", REPORTS_PATH, params)
    settlements = []
    for report in page.get("reports") or ():
        if report.get("processingStatus") != "DONE":
            continue  # Amazon is still writing it: the next import reads it
        document = get(
            "getReportDocument", f"{DOCUMENTS_PATH}/{report['reportDocumentId']}", None
        )
        data = download(document.get("url") or "")
        try:
            if document.get("compressionAlgorithm") == "GZIP":
                data = _gunzip(data)
            text = data.decode("utf-8-sig", errors="replace")
            payout, lines = parse_settlement(text)
            if refunds is not None:
                refunds[payout.external_ref] = refund_deliveries(text, payout)
            settlements.append((payout, lines))
        except ChannelPayloadError as exc:
            # One unreadable report does not hold back the others.
            ref = f"report {report.get('reportId')}"
            settlements.append((UnreadablePayout(ref, str(exc)), None))
    return settlements, page.get("nextToken") or None


def _gunzip(data):
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            text = stream.read(MAX_DOCUMENT_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise ChannelPayloadError("The settlement report is not gzip.") from exc
    if len(text) > MAX_DOCUMENT_BYTES:
        raise ChannelPayloadError("The settlement report is larger than 50 MB.")
    return text


class RestrictedTokens:
    """Restricted data tokens of the process, per account (endpoint and a
    digest of its refresh token), each reused until shortly before expiry."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.lock = threading.Lock()
        self.tokens = {}  # key -> (token, expires at)

    def get(self, key):
        with self.lock:
            token, expires_at = self.tokens.get(key, (None, 0))
        return token if self.clock() < expires_at - RDT_MARGIN else None

    def put(self, key, token, lifetime):
        with self.lock:
            self.tokens[key] = (token, self.clock() + lifetime)

    def drop(self, key, token):
        with self.lock:
            if self.tokens.get(key, (None,))[0] == token:
                del self.tokens[key]


RDT_CACHE = RestrictedTokens()


class AmazonSettlementMixin:
    """The Amazon adapter's settlements (Reports API) and restricted data
    (Tokens API); mixed into `AmazonAdapter`."""

    # Refunds come whole in the settlement reports (`refunds_amazon`).
    refund_payload_topics = frozenset({REFUND_TOPIC})

    def fetch_payouts(self, since, cursor=None):
        """Override of `ChannelAdapter`: one page of settlement reports, each
        downloaded; their lines are kept for `fetch_payout_lines`."""
        settlements, cursor = fetch_amazon_settlements(
            self.get,
            self._download,
            since,
            cursor,
            refunds=self.__dict__.setdefault("_settlement_refunds", {}),
        )
        read = self.__dict__.setdefault("_settlement_lines", {})
        for payout, lines in settlements:
            if lines is not None:
                read[payout.external_ref] = lines
        return [payout for payout, _lines in settlements], cursor

    def fetch_payout_lines(self, payout_ref):
        """Override of `ChannelAdapter`: the lines of a settlement this
        adapter listed (a report is one file: it was read whole)."""
        lines = self.__dict__.get("_settlement_lines", {}).get(payout_ref)
        if lines is None:
            raise ChannelPayloadError(
                f"Amazon settlement {payout_ref} was not listed by this import."
            )
        return lines

    def fetch_payout_refunds(self, payout_ref):
        """Override of `ChannelAdapter`: the refunds of a settlement this
        adapter listed, one `settlement/refund` delivery per adjustment."""
        return self.__dict__.get("_settlement_refunds", {}).get(payout_ref, [])

    def parse_refund_notice(self, topic, payload):
        """Override of `ChannelAdapter`: a stored settlement refund names its
        adjustment and order."""
        if topic not in self.refund_payload_topics or not isinstance(payload, dict):
            return None
        return RefundNotice(
            refund_ref=payload.get("adjustment-id") or "",
            order_ref=payload.get("order-id") or None,
        )

    def parse_refund(self, payload):
        """Override of `ChannelAdapter`: see `refunds_amazon`; restocking
        follows the backend's policy (`refund_restock`, off by default)."""
        return parse_amazon_refund(
            payload, restock=bool(self.config.get("refund_restock"))
        )

    def _download(self, url):
        """The bytes of a presigned report document URL (no access token:
        the URL is the authorization)."""
        if not url.startswith(("https://", "http://")):
            raise ChannelPayloadError("getReportDocument answered no document URL.")
        response = self.call_with_backoff(self.transport.request, "GET", url)
        return response.content

    def _get_order_payload(self, path):
        """getOrder's payload; with restricted data on, read with a
        restricted data token so that it carries the buyer's name and
        address."""
        if not self.config.get("restricted_data"):
            return self.get("getOrder", path).get("payload")
        return self.call_with_backoff(self._get_restricted_once, path)

    def _get_restricted_once(self, path):
        key = self._rdt_key()
        token = RDT_CACHE.get(key) or self._create_restricted_token(key)
        pacer = self._pacer()
        pacer.wait(self.endpoint, "getOrder")
        try:
            response = self._send_restricted(path, key, token)
        except ChannelThrottledError as exc:
            pacer.throttled(self.endpoint, "getOrder", exc.retry_after)
            raise
        try:
            return response.json().get("payload")
        except (ValueError, AttributeError) as exc:
            raise ChannelPayloadError(f"GET {path}: the answer is not JSON") from exc

    def _send_restricted(self, path, key, token):
        url = f"{self.endpoint}{path}"
        try:
            return self._send("GET", url, token, {})
        except ChannelAuthError:
            RDT_CACHE.drop(key, token)  # expired or revoked: one new one
            return self._send("GET", url, self._create_restricted_token(key), {})

    def _rdt_key(self):
        secret = (self.config.get("refresh_token") or "").encode()
        return (self.endpoint, hashlib.sha256(secret).hexdigest())

    def _create_restricted_token(self, key):
        """createRestrictedDataToken for getOrder's buyer data (its own
        token: never logged, never stored outside this process)."""
        response = self._authorized(
            "POST", TOKENS_PATH, json={"restrictedResources": [RESTRICTED_RESOURCE]}
        )
        body = response.json() if response.content else {}
        token = body.get("restrictedDataToken") if isinstance(body, dict) else None
        if not token:
            raise ChannelPayloadError(
                "createRestrictedDataToken answered no restrictedDataToken."
            )
        RDT_CACHE.put(key, token, float(body.get("expiresIn") or 0))
        return token
