"""The SP-API stand-in's stock side: the Feeds API 2021-06-30 with JSON
listings feeds (createFeedDocument, upload to the returned URL, createFeed,
getFeed, getFeedDocument, download of the processing report) and the FBA
Inventory API v1 (getInventorySummaries, paged by nextToken).

Bodies, queries and answers are checked against Amazon's models
(feeds_2021-06-30.json, fbaInventory.json); an uploaded feed against the JSON
listings feed schema and every processing report against its schema
(amazon_feed_schema.py). A feed is IN_QUEUE at its first getFeed, IN_PROGRESS
at the second and DONE from the third, so a client has to poll.
"""

import json
import zlib
from urllib.parse import quote

from .amazon_feed_schema import check_feed, check_report
from .amazon_schema import SchemaError, check_body, check_query

FEEDS_PREFIX = "/feeds/2021-06-30/"
FBA_SUMMARIES_PATH = "/fba/inventory/v1/summaries"
# The stand-in's "pre-signed URLs" of feed documents (no SP-API token).
DOCUMENTS_PREFIX = "/sim-amazon-documents/"
STOCK_PREFIXES = (FEEDS_PREFIX, FBA_SUMMARIES_PATH, DOCUMENTS_PREFIX)
FEEDS_MODEL = "feeds_2021-06-30.json"
FBA_MODEL = "fbaInventory.json"
LISTINGS_MODEL = "listingsItems_2021-08-01.json"
# (rate per second, burst) from the models' Usage Plans.
STOCK_USAGE_PLANS = {
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2, 15),
    "getFeedDocument": (0.0222, 10),
    "getInventorySummaries": (2, 2),
}
STOCK_OPERATION_MODELS = {
    "createFeedDocument": FEEDS_MODEL,
    "createFeed": FEEDS_MODEL,
    "getFeed": FEEDS_MODEL,
    "getFeedDocument": FEEDS_MODEL,
    "getInventorySummaries": FBA_MODEL,
}
AVAILABILITY_PATH = "/attributes/fulfillment_availability"
# getFeed calls before a feed is DONE (IN_QUEUE, IN_PROGRESS, then DONE).
POLLS_TO_DONE = 3
FBA_PAGE_SIZE = 50


class AmazonStockSide:
    """Feeds and FBA inventory of the simulated seller account (a mixin of
    `amazon.AmazonSellingPartner`: `state`, `lock`, `listings`, `clock`)."""

    seller_id = None

    def _init_stock_side(self):
        self.documents = {}  # feedDocumentId -> {"content": bytes | None}
        self.feeds = {}  # feedId -> {"feed": Feed, "polls": n, "document": id}
        self.fba_inventory = {}  # SKU -> {"fulfillable", "processing", ...}
        self.fba_next_tokens = {}  # nextToken -> SKUs still to list
        self.fba_page_size = FBA_PAGE_SIZE

    def _listing(self, sku):
        """The listing of `sku`, None if not listed (the caller holds the
        lock). The variants of the simulator's shared catalogue are listed
        too, at 0 until patched: the sandbox sells one catalogue everywhere."""
        listing = self.listings.get(sku)
        if listing is None and sku in self._catalogue_skus():
            listing = self.listings[sku] = {"quantity": 0, "patches": 0}
        return listing

    def _catalogue_skus(self):
        return {v["sku"] for v in list(self.state.variants.values()) if v.get("sku")}

    # === ROUTING ===

    def _stock_operation(self, request):
        """(operationId, path arguments) of a feeds or FBA inventory request;
        (None, None) if the path is one but the method is not."""
        path = request.path.rstrip("/")
        if path == FBA_SUMMARIES_PATH:
            return (
                ("getInventorySummaries", ())
                if request.method == "GET"
                else (None, None)
            )
        parts = path[len(FEEDS_PREFIX) :].split("/")
        found = {
            ("POST", "documents", 1): ("createFeedDocument", ()),
            ("GET", "documents", 2): ("getFeedDocument", tuple(parts[1:])),
            ("POST", "feeds", 1): ("createFeed", ()),
            ("GET", "feeds", 2): ("getFeed", tuple(parts[1:])),
        }
        return found.get((request.method, parts[0], len(parts)), (None, None))

    def _dispatch_stock(self, name, request, args):
        body = request.get_json(silent=True)
        try:
            if name in ("createFeedDocument", "createFeed"):
                check_body(name, body, FEEDS_MODEL)
            if name == "getInventorySummaries":
                query = {key: request.args.getlist(key) for key in request.args}
                check_query(name, query, FBA_MODEL)
        except SchemaError as exc:
            return 400, {"errors": [{"code": "InvalidInput", "message": str(exc)}]}
        if name == "createFeedDocument":
            return self._create_feed_document(request, body)
        if name == "createFeed":
            return self._create_feed(body)
        if name == "getFeed":
            return self._get_feed(args[0])
        if name == "getFeedDocument":
            return self._get_feed_document(request, args[0])
        return self._inventory_summaries(request.args)

    # === FEED DOCUMENTS ===

    def _create_feed_document(self, request, body):
        document_id = self._new_ref("amzn1.tortuga.4.na.sim")
        with self.lock:
            self.documents[document_id] = {
                "content": None,
                "content_type": body["contentType"],
            }
        return 201, {"feedDocumentId": document_id, "url": _url(request, document_id)}

    def _get_feed_document(self, request, document_id):
        with self.lock:
            known = document_id in self.documents
        if not known:
            return 404, _error("NotFound", f"No feed document {document_id}")
        return 200, {"feedDocumentId": document_id, "url": _url(request, document_id)}

    def document_url(self, request):
        """PUT (upload) or GET (download) a feed document at its URL."""
        document_id = request.path[len(DOCUMENTS_PREFIX) :]
        with self.lock:
            document = self.documents.get(document_id)
            if document is None:
                return 404, b"NoSuchKey"
            if request.method == "PUT":
                document["content"] = request.get_data()
                return 200, b""
            if request.method == "GET" and document["content"] is not None:
                return 200, document["content"]
        return 404, b"NoSuchKey"

    # === FEEDS ===

    def _create_feed(self, body):
        with self.lock:
            document = self.documents.get(body["inputFeedDocumentId"])
        if document is None or document["content"] is None:
            return 400, _error("InvalidInput", "The input feed document is empty")
        feed_id = str(self.state.new_id("amazon_feed", 50001))
        feed = {
            "feedId": feed_id,
            "feedType": body["feedType"],
            "marketplaceIds": list(body["marketplaceIds"]),
            "createdTime": self._now(),
            "processingStatus": "IN_QUEUE",
        }
        with self.lock:
            self.feeds[feed_id] = {
                "feed": feed,
                "polls": 0,
                "document": body["inputFeedDocumentId"],
            }
        return 202, {"feedId": feed_id}

    def _get_feed(self, feed_id):
        with self.lock:
            entry = self.feeds.get(feed_id)
            if entry is None:
                return 404, _error("NotFound", f"No feed {feed_id}")
            entry["polls"] += 1
            polls, feed = entry["polls"], entry["feed"]
        if polls == POLLS_TO_DONE - 1:
            feed.update(processingStatus="IN_PROGRESS", processingStartTime=self._now())
        elif polls >= POLLS_TO_DONE and "resultFeedDocumentId" not in feed:
            self._process_feed(feed_id, entry)
        return 200, dict(feed)

    def _process_feed(self, feed_id, entry):
        """Apply a JSON listings feed; its processing report becomes the
        result document (FATAL when the document is not a valid feed)."""
        with self.lock:
            raw = self.documents[entry["document"]]["content"]
        try:
            document = json.loads(raw)
            check_feed(document)
        except (ValueError, SchemaError) as exc:
            status, report = "FATAL", self._report(feed_id, [], str(exc))
        else:
            status = "DONE"
            issues = [self._apply_message(message) for message in document["messages"]]
            report = self._report(feed_id, document["messages"], None, issues)
        check_report(report)
        result_id = self._new_ref("amzn1.tortuga.4.na.simresult")
        with self.lock:
            self.documents[result_id] = {
                "content": json.dumps(report).encode(),
                "content_type": "application/json",
            }
            entry["feed"].update(
                processingStatus=status,
                processingEndTime=self._now(),
                resultFeedDocumentId=result_id,
            )

    def _apply_message(self, message):
        """The ERROR issue of one feed message, None when it was applied."""
        sku = message["sku"]
        with self.lock:
            listing = self._listing(sku)
            if listing is None:
                return {
                    "messageId": message["messageId"],
                    "sku": sku,
                    "code": "4000001",
                    "severity": "ERROR",
                    "message": f"SKU {sku} is not listed.",
                }
            for patch in message.get("patches") or ():
                if patch["path"] == AVAILABILITY_PATH and patch["op"] != "delete":
                    for value in patch.get("value") or ():
                        if value.get("fulfillment_channel_code") == "DEFAULT":
                            listing["quantity"] = int(value["quantity"])
            listing["feed_updates"] = listing.get("feed_updates", 0) + 1
        return None

    def _report(self, feed_id, messages, fatal, issues=()):
        issues = [issue for issue in issues if issue]
        if fatal:
            issues = [{"code": "4000000", "severity": "ERROR", "message": fatal}]
        return {
            "header": {"sellerId": self.seller_id, "version": "2.0", "feedId": feed_id},
            "issues": issues,
            "summary": {
                "errors": len(issues),
                "warnings": 0,
                "messagesProcessed": len(messages),
                "messagesAccepted": len(messages) - len(issues),
                "messagesInvalid": len(issues) if messages else 0,
            },
        }

    # === LISTINGS SEARCH ===

    def _search_listings(self, args, request):
        """searchListingsItems: the seller's listings by SKU, `pageSize` (at
        most 20) a page, then `pageToken`."""
        query = {key: request.args.getlist(key) for key in request.args}
        try:
            check_query("searchListingsItems", query, LISTINGS_MODEL)
        except SchemaError as exc:
            return 400, _error("InvalidInput", str(exc))
        if args[0] != self.seller_id:
            return 403, _error(
                "Unauthorized", "Access to requested resource is denied."
            )
        size = int(request.args.get("pageSize") or 10)
        with self.lock:
            skus = sorted(set(self.listings) | self._catalogue_skus())
        start = int(request.args.get("pageToken") or 0)
        page = skus[start : start + size]
        answer = {
            "numberOfResults": len(skus),
            "items": [self._listing_item(sku, request.args) for sku in page],
        }
        if start + size < len(skus):
            answer["pagination"] = {"nextToken": str(start + size)}
        return 200, answer

    def _listing_item(self, sku, query):
        summary = {
            "marketplaceId": query.get("marketplaceIds"),
            "asin": f"B0SIM{zlib.crc32(sku.encode()) % 100000:05d}",
            "productType": "PRODUCT",
            "conditionType": "new_new",
            "status": ["BUYABLE", "DISCOVERABLE"],
            "itemName": f"Item {sku}",
            "createdDate": "2026-01-05T10:00:00Z",
            "lastUpdatedDate": self._now(),
        }
        return {"sku": sku, "summaries": [summary]}

    # === FBA INVENTORY ===

    def set_fba_inventory(self, sku, fulfillable, processing=0, pending_orders=0):
        """What Amazon's fulfilment centres hold of `sku`."""
        with self.lock:
            self.fba_inventory[sku] = {
                "fulfillable": fulfillable,
                "processing": processing,
                "pending_orders": pending_orders,
            }

    def _inventory_summaries(self, query):
        token = query.get("nextToken")
        with self.lock:
            if token:
                skus = self.fba_next_tokens.pop(token, None)
                if skus is None:
                    return 400, _error("InvalidInput", "Invalid nextToken")
            else:
                skus = sorted(self.fba_inventory)
            size = self.fba_page_size
            page, rest = skus[:size], skus[size:]
            summaries = [self._summary(sku, query) for sku in page]
            answer = {
                "payload": {
                    "granularity": {
                        "granularityType": query.get("granularityType"),
                        "granularityId": query.get("granularityId"),
                    },
                    "inventorySummaries": summaries,
                }
            }
            if rest:
                token = f"sim-fba-{self.state.random.getrandbits(64):016x}"
                self.fba_next_tokens[token] = rest
                answer["pagination"] = {"nextToken": token}
        return 200, answer

    def _summary(self, sku, query):
        held = self.fba_inventory[sku]
        reserved = held["processing"] + held["pending_orders"]
        summary = {
            "asin": f"B0FBA{zlib.crc32(sku.encode()) % 100000:05d}",
            "fnSku": f"X00{sku[:7]}",
            "sellerSku": sku,
            "condition": "NewItem",
            "lastUpdatedTime": self._now(),
            "productName": f"Item {sku}",
            "totalQuantity": held["fulfillable"] + reserved,
        }
        if query.get("details") == "true":
            summary["inventoryDetails"] = {
                "fulfillableQuantity": held["fulfillable"],
                "inboundWorkingQuantity": 0,
                "inboundShippedQuantity": 0,
                "inboundReceivingQuantity": 0,
                "reservedQuantity": {
                    "totalReservedQuantity": reserved,
                    "pendingCustomerOrderQuantity": held["pending_orders"],
                    "pendingTransshipmentQuantity": 0,
                    "fcProcessingQuantity": held["processing"],
                },
            }
        return summary

    # === HELPERS ===

    def _new_ref(self, prefix):
        return f"{prefix}.{self.state.random.getrandbits(64):016x}"

    def _now(self):
        return self.state.wall_clock().strftime("%Y-%m-%dT%H:%M:%SZ")


def _url(request, document_id):
    return f"{request.host_url.rstrip('/')}{DOCUMENTS_PREFIX}{quote(document_id)}"


def _error(code, message):
    return {"errors": [{"code": code, "message": message}]}
