"""Amazon stock: MFN quantities out through the Listings Items API
(patchListingsItem, one SKU a call) or, for many SKUs at once, a JSON
listings feed (Feeds API); FBA quantities in through the FBA Inventory API.

A channel stock location of an Amazon backend is a marketplace (its id is
the location id): the merchant-fulfilled ("DEFAULT") availability of a SKU
is set per marketplace. Amazon answers each SKU (or feed message) on its
own; a listing it refuses (INVALID, an ERROR issue) is a refused
`StockWriteResult` naming Amazon's message, the other SKUs are applied.
"""

import json
import time
from urllib.parse import quote

from .catalogue import ChannelVariant
from .exceptions import ChannelPayloadError, ChannelRetryableError
from .stock import FulfilledInventory, StockWriteResult

# (requests per second, burst) from the models' "Usage Plan" tables
# (Listings Items 2021-08-01, Feeds 2021-06-30, FBA Inventory v1).
STOCK_USAGE_PLANS = {
    "patchListingsItem": (5, 5),
    "getListingsItem": (5, 10),
    "searchListingsItems": (5, 5),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2, 15),
    "getFeedDocument": (0.0222, 10),
    "getInventorySummaries": (2, 2),
}
LISTINGS_PATH = "/listings/2021-08-01/items"
FEEDS_PATH = "/feeds/2021-06-30"
AVAILABILITY_PATH = "/attributes/fulfillment_availability"
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
# Quantities one push_stock call takes: a feed of at most this many messages
# (the schema allows 25,000; a smaller feed is processed sooner).
FEED_MAX_MESSAGES = 10_000
# Default: from this many SKUs of one marketplace in an export, one feed
# instead of a patchListingsItem per SKU (5 a second).
DEFAULT_FEED_THRESHOLD = 100
# Seconds a push waits for a feed to be DONE, polling getFeed from
# FEED_FIRST_POLL seconds, doubling up to FEED_MAX_POLL.
DEFAULT_FEED_WAIT = 120
FEED_FIRST_POLL = 0.5
FEED_MAX_POLL = 15
# Pages of FBA inventory one read walks at most (50 SKUs a page).
MAX_INVENTORY_PAGES = 2000


class AmazonStockMixin:
    """Stock operations of `amazon.AmazonAdapter` (its `_request_once` and
    `call_with_backoff` send every call, paced per operation)."""

    stock_batch_size = FEED_MAX_MESSAGES

    def stock_batch_group(self, quantity):
        """Override of `ChannelAdapter`: one marketplace per call."""
        return quantity.location_ref

    def _call(self, operation, method, path, **kwargs):
        return self.call_with_backoff(
            self._request_once, operation, method, path, **kwargs
        )

    def _seller_id(self):
        seller_id = self.config.get("seller_id")
        if not seller_id:
            raise ChannelPayloadError(
                "The Amazon seller id (merchant token) of the backend is not set."
            )
        return seller_id

    # === MFN STOCK ===

    def push_stock(self, quantities, idempotency_key):
        """Override of `ChannelAdapter`: the DEFAULT (merchant) availability
        of each SKU in one marketplace; a feed from `feed_threshold` SKUs.

        Quantities are absolute, so a repeat sets the same figures: the
        idempotency key is unused.
        """
        del idempotency_key
        if len(quantities) > self.stock_batch_size:
            raise ValueError(f"At most {FEED_MAX_MESSAGES} quantities per call")
        threshold = self.config.get("feed_threshold") or DEFAULT_FEED_THRESHOLD
        if len(quantities) >= threshold:
            return self._push_feed(quantities)
        return [self._patch_quantity(quantity) for quantity in quantities]

    def _patch_quantity(self, quantity):
        path = f"{LISTINGS_PATH}/{quote(self._seller_id(), safe='')}/" + quote(
            quantity.variant_ref, safe=""
        )
        body = {"productType": "PRODUCT", "patches": [_availability_patch(quantity)]}
        answer = self._call(
            "patchListingsItem",
            "PATCH",
            path,
            params={"marketplaceIds": quantity.location_ref},
            json=body,
        )
        errors = [
            issue.get("message") or issue.get("code") or "?"
            for issue in answer.get("issues") or ()
            if issue.get("severity") == "ERROR"
        ]
        if answer.get("status") == "ACCEPTED" and not errors:
            return StockWriteResult(quantity, applied=True)
        message = "; ".join(errors) or f"status {answer.get('status')}"
        return StockWriteResult(quantity, applied=False, refused=True, message=message)

    def read_stock(self, quantities):
        """Override of `ChannelAdapter`: the DEFAULT quantity of each listed
        SKU (getListingsItem); a SKU Amazon does not list is absent."""
        current = {}
        for quantity in quantities:
            path = f"{LISTINGS_PATH}/{quote(self._seller_id(), safe='')}/" + quote(
                quantity.variant_ref, safe=""
            )
            try:
                item = self._call(
                    "getListingsItem",
                    "GET",
                    path,
                    params={
                        "marketplaceIds": quantity.location_ref,
                        "includedData": "fulfillmentAvailability",
                    },
                )
            except ChannelPayloadError:
                continue  # 404: not listed
            for availability in item.get("fulfillmentAvailability") or ():
                if (
                    availability.get("fulfillmentChannelCode") == "DEFAULT"
                    and availability.get("quantity") is not None
                ):
                    current[quantity] = int(availability["quantity"])
        return current

    # === CATALOGUE ===

    def fetch_variants(self, cursor=None):
        """Override of `ChannelAdapter`: one page (20) of searchListingsItems
        in the first marketplace orders are imported from; the SKU is both
        the variant's id and its SKU, the ASIN its product."""
        marketplaces = self.config.get("marketplace_ids") or ()
        if not marketplaces:
            raise ChannelPayloadError("No Amazon marketplace is set to import.")
        params = {
            "marketplaceIds": marketplaces[0],
            "includedData": "summaries",
            "pageSize": 20,
        }
        if cursor:
            params["pageToken"] = cursor
        path = f"{LISTINGS_PATH}/{quote(self._seller_id(), safe='')}"
        answer = self._call("searchListingsItems", "GET", path, params=params)
        variants = []
        for item in answer.get("items") or ():
            if not item.get("sku"):
                continue
            summary = (item.get("summaries") or [{}])[0]
            variants.append(
                ChannelVariant(
                    variant_ref=str(item["sku"]),
                    sku=str(item["sku"]),
                    title=summary.get("itemName") or str(item["sku"]),
                    product_ref=summary.get("asin"),
                )
            )
        return variants, (answer.get("pagination") or {}).get("nextToken") or None

    # === JSON LISTINGS FEED ===

    def _push_feed(self, quantities):
        """One JSON_LISTINGS_FEED of PATCH messages; each ERROR issue of its
        processing report refuses the SKU of its message."""
        feed = {
            "header": {"sellerId": self._seller_id(), "version": "2.0"},
            "messages": [
                {
                    "messageId": index,
                    "sku": quantity.variant_ref,
                    "operationType": "PATCH",
                    "productType": "PRODUCT",
                    "patches": [_availability_patch(quantity)],
                }
                for index, quantity in enumerate(quantities, start=1)
            ],
        }
        document = self._call(
            "createFeedDocument",
            "POST",
            f"{FEEDS_PATH}/documents",
            json={"contentType": FEED_CONTENT_TYPE},
        )
        self.call_with_backoff(
            self.transport.request,
            "PUT",
            document["url"],
            data=json.dumps(feed).encode(),
            headers={"Content-Type": FEED_CONTENT_TYPE},
        )
        created = self._call(
            "createFeed",
            "POST",
            f"{FEEDS_PATH}/feeds",
            json={
                "feedType": "JSON_LISTINGS_FEED",
                "marketplaceIds": [quantities[0].location_ref],
                "inputFeedDocumentId": document["feedDocumentId"],
            },
        )
        report = self._feed_report(str(created["feedId"]))
        refused = _refusals(report, len(quantities))
        return [
            StockWriteResult(q, applied=False, refused=True, message=refused[i])
            if i in refused
            else StockWriteResult(q, applied=True)
            for i, q in enumerate(quantities, start=1)
        ]

    def _feed_report(self, feed_id):
        """The processing report of a feed, polled until DONE; a FATAL feed
        applied nothing (ChannelPayloadError), one still processing after
        `feed_wait` seconds is retried later (ChannelRetryableError)."""
        sleep = self.config.get("sleep") or time.sleep
        clock = self.config.get("clock") or time.monotonic
        deadline = clock() + (self.config.get("feed_wait") or DEFAULT_FEED_WAIT)
        pause = FEED_FIRST_POLL
        while True:
            feed = self._call("getFeed", "GET", f"{FEEDS_PATH}/feeds/{feed_id}")
            status = feed.get("processingStatus")
            if status in ("DONE", "FATAL", "CANCELLED"):
                break
            if clock() + pause > deadline:
                raise ChannelRetryableError(
                    f"Amazon feed {feed_id} is still {status}", retry_after=300
                )
            sleep(pause)
            pause = min(pause * 2, FEED_MAX_POLL)
        if status == "CANCELLED" or not feed.get("resultFeedDocumentId"):
            raise ChannelPayloadError(f"Amazon feed {feed_id} was {status}.")
        report = self._feed_document(feed["resultFeedDocumentId"])
        if status == "FATAL":
            messages = "; ".join(
                filter(None, (i.get("message") for i in report.get("issues") or ()))
            )
            raise ChannelPayloadError(
                f"Amazon refused feed {feed_id} whole: {messages}"
            )
        return report

    def _feed_document(self, document_id):
        document = self._call(
            "getFeedDocument", "GET", f"{FEEDS_PATH}/documents/{document_id}"
        )
        if document.get("compressionAlgorithm"):
            raise ChannelPayloadError("Compressed feed reports are not read.")
        response = self.call_with_backoff(
            self.transport.request, "GET", document["url"]
        )
        try:
            return response.json()
        except ValueError as exc:
            raise ChannelPayloadError("The feed report is not JSON.") from exc

    # === FBA INVENTORY ===

    def fetch_fulfilled_inventory(self, location_ref):
        """Override of `ChannelAdapter`: what Amazon's fulfilment centres
        hold for the seller in marketplace `location_ref`, every page of
        getInventorySummaries (details, nextToken)."""
        params = {
            "details": "true",
            "granularityType": "Marketplace",
            "granularityId": location_ref,
            "marketplaceIds": location_ref,
        }
        found, token = [], None
        for _page in range(MAX_INVENTORY_PAGES):
            page_params = {**params, "nextToken": token} if token else params
            answer = self._call(
                "getInventorySummaries",
                "GET",
                "/fba/inventory/v1/summaries",
                params=page_params,
            )
            payload = answer.get("payload") or {}
            found += [
                _fulfilled(summary)
                for summary in payload.get("inventorySummaries") or ()
                if summary.get("sellerSku")
            ]
            token = (answer.get("pagination") or {}).get("nextToken")
            if not token:
                return found
        raise ChannelPayloadError(
            f"Amazon lists more than {MAX_INVENTORY_PAGES} pages of FBA inventory."
        )


def _availability_patch(quantity):
    return {
        "op": "replace",
        "path": AVAILABILITY_PATH,
        "value": [
            {"fulfillment_channel_code": "DEFAULT", "quantity": int(quantity.quantity)}
        ],
    }


def _refusals(report, count):
    """{message id: Amazon's messages} of the ERROR issues of a report."""
    refused = {}
    for issue in report.get("issues") or ():
        message_id = issue.get("messageId")
        if issue.get("severity") != "ERROR" or not isinstance(message_id, int):
            continue
        if 1 <= message_id <= count:
            text = issue.get("message") or issue.get("code") or "?"
            refused[message_id] = "; ".join(
                filter(None, (refused.get(message_id), text))
            )
    return refused


def _fulfilled(summary):
    """Amazon's stock of one SKU that Odoo holds at the FBA location: what
    it can sell, plus what it is moving between or processing in its
    centres; not what it holds for customer orders (Odoo delivered those
    when it imported them), inbound or unfulfillable units."""
    details = summary.get("inventoryDetails") or {}
    reserved = details.get("reservedQuantity") or {}
    quantity = (
        int(details.get("fulfillableQuantity") or 0)
        + int(reserved.get("fcProcessingQuantity") or 0)
        + int(reserved.get("pendingTransshipmentQuantity") or 0)
    )
    return FulfilledInventory(
        sku=str(summary["sellerSku"]),
        quantity=quantity,
        total=int(summary.get("totalQuantity") or 0),
    )
