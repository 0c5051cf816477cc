"""Shopify Admin GraphQL 2026-07 on Shopify's own schema.

Every document is parsed and validated against the real introspection schema
(simulator/reference/shopify/admin_2026-07.json.gz); errors come back in the
shape Shopify's graphql-ruby server gives them (HTTP 200, `errors[]` with
`message`, `locations`, `extensions.code`). Valid documents are costed and
charged to the leaky bucket, then executed by graphql-core with dict
resolvers (shopify_nodes.py); fields nobody resolves are null.
"""

import gzip
import json
import re
import threading

from graphql import (
    GraphQLError,
    build_client_schema,
    execute_sync,
    get_named_type,
    get_operation_ast,
    is_enum_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    parse,
    validate,
)
from graphql.execution.values import get_directive_values

from .fulfillment_orders import FulfillmentError
from .reference import reference_path
from .shopify_nodes import (
    CatalogueNodes,
    GraphqlMoney,
    OrderNodes,
    connection,
    search,
)
from .shopify_payloads import (
    fulfillment_payload,
    inventory_level_payload,
    order_payload,
)
from .shopify_products import ProductWriteError, ProductWrites
from .throttle import CostCalculator
from .util import gid, iso_z, number

API_VERSION = "2026-07"
SINGLE_QUERY_MAX_COST = 1000
MAX_INPUT_ARRAY = 250
RATE_LIMITS_DOC = "https://shopify.dev/api/usage/rate-limits"
IDEMPOTENT_MUTATIONS = ("inventorySetQuantities",)
_SCHEMA = {}
_SCHEMA_LOCK = threading.Lock()


def admin_schema():
    """The real Admin API schema, built once per process (about 1.5 s)."""
    with _SCHEMA_LOCK:
        if "schema" not in _SCHEMA:
            path = reference_path("shopify", f"admin_{API_VERSION}.json.gz")
            with gzip.open(path) as file:
                _SCHEMA["schema"] = build_client_schema(json.load(file)["data"])
        return _SCHEMA["schema"]


# === ERRORS IN SHOPIFY'S SHAPE ===

TRANSLATIONS = (
    (
        r"Cannot query field '(?P<field>\w+)' on type '(?P<type>\w+)'",
        "Field '{field}' doesn't exist on type '{type}'",
        "undefinedField",
        lambda m: {"typeName": m["type"], "fieldName": m["field"]},
    ),
    (
        r"Unknown argument '(?P<arg>\w+)' on field '\w+\.(?P<field>\w+)'",
        "Field '{field}' doesn't accept argument '{arg}'",
        "argumentNotAccepted",
        lambda m: {"name": m["field"], "typeName": "Field", "argumentName": m["arg"]},
    ),
    (
        r"Field '(?P<field>\w+)' argument '(?P<arg>\w+)' of type .* is required",
        "Field '{field}' is missing required arguments: {arg}",
        "missingRequiredArguments",
        lambda m: {"className": "Field", "name": m["field"], "arguments": m["arg"]},
    ),
    (
        r"Field '(?P<field>\w+)' of type '(?P<type>[^']+)' must have a selection",
        "Field must have selections (field '{field}' returns {type} but has no "
        "selections. Did you mean '{field} {{ ... }}'?)",
        "selectionMismatch",
        lambda m: {"nodeName": f"field '{m['field']}'", "typeName": m["type"]},
    ),
    (
        r"Field '(?P<field>\w+)' must not have a selection since type "
        r"'(?P<type>[^']+)'",
        "Selections can't be made on scalars (field '{field}' returns {type} but "
        "has selections [...])",
        "selectionMismatch",
        lambda m: {"nodeName": f"field '{m['field']}'", "typeName": m["type"]},
    ),
    (
        r"Variable '\$(?P<var>\w+)' is not defined",
        "Variable ${var} is used by {operation} but not declared",
        "variableNotDefined",
        lambda m: {"variableName": m["var"]},
    ),
    (
        r"Variable '\$(?P<var>\w+)' is never used",
        "Variable ${var} is declared by {operation} but not used",
        "variableNotUsed",
        lambda m: {"variableName": m["var"]},
    ),
    (
        r"Unknown directive '@(?P<directive>\w+)'",
        "Directive @{directive} is not defined",
        "undefinedDirective",
        lambda m: {"directiveName": m["directive"]},
    ),
    (
        r"Variable '\$(?P<var>\w+)' of type '(?P<given>[^']+)' used in position "
        r"expecting type '(?P<wanted>[^']+)'",
        "Type mismatch on variable ${var} and argument ({given} / {wanted})",
        "variableMismatch",
        lambda m: {"variableName": m["var"], "typeName": m["given"]},
    ),
    (
        r"(?P<type>\w+) cannot represent (?P<detail>.+)",
        "Argument has an invalid value ({detail}). Expected type '{type}'.",
        "argumentLiteralsIncompatible",
        lambda m: {"typeName": "CoercionError"},
    ),
    (
        r"Unknown type '(?P<type>\w+)'",
        "No such type {type}, so it can't be a fragment condition",
        "undefinedType",
        lambda m: {"typeName": m["type"]},
    ),
)


def shopify_error(message, code=None, locations=None, path=None, **extensions):
    error = {"message": message}
    if locations:
        error["locations"] = locations
    if path:
        error["path"] = path
    if code:
        error["extensions"] = {"code": code, **extensions}
    return error


def validation_error(error, operation_label):
    """graphql-core's validation message, as graphql-ruby words it."""
    locations = [
        {"line": loc.line, "column": loc.column} for loc in error.locations or ()
    ]
    for pattern, template, code, extras in TRANSLATIONS:
        match = re.search(pattern, error.message)
        if match:
            message = template.format(operation=operation_label, **match.groupdict())
            return shopify_error(message, code, locations, **extras(match))
    return shopify_error(error.message, "validationError", locations)


def parse_error(error):
    location = (error.locations or [None])[0]
    where = f" at [{location.line}, {location.column}]" if location else ""
    found = re.search(r"found (.+?)\.?$", error.message)
    token = found.group(1) if found else error.message
    message = (
        "Unexpected end of document"
        if "<EOF>" in token
        else f"Parse error on {token}{where}"
    )
    locations = (
        [{"line": location.line, "column": location.column}] if location else None
    )
    return shopify_error(message, None, locations)


def _execution_error(error):
    locations = [
        {"line": loc.line, "column": loc.column} for loc in error.locations or ()
    ]
    extensions = dict(error.extensions or {})
    code = extensions.pop("code", None)
    if code is None and error.message.startswith("Variable '$"):
        code = "INVALID_VARIABLE"
    return shopify_error(error.message, code, locations, error.path, **extensions)


# === FIELD RESOLUTION ===


def resolve_field(source, info, **args):
    """Dict keys, callables for fields with arguments, empty non-null defaults.

    A key that nobody filled resolves to null; for a non-null field that
    would null the whole parent, so it gets an empty value of its type.
    """
    key = info.field_name
    value = source.get(key, _MISSING) if isinstance(source, dict) else _MISSING
    if value is _MISSING:
        return _placeholder(info.return_type)
    if callable(value):
        return value(info, **args)
    return value


_MISSING = object()


def _placeholder(field_type):
    if not is_non_null_type(field_type):
        return None
    inner = field_type.of_type
    if is_list_type(inner):
        return []
    named = get_named_type(inner)
    if is_enum_type(named):
        return next(iter(named.values))
    if is_leaf_type(named):
        return {"Int": 0, "Float": 0.0, "Boolean": False}.get(named.name, "")
    return {} if is_object_type(named) else None


# === EXECUTION ===


class ShopifyGraphql:
    """Answers `POST /admin/api/2026-07/graphql.json` for one shop."""

    def __init__(self, state, bucket, notify, book):
        self.state = state
        self.bucket = bucket
        self.notify = notify
        self.resolvers = Resolvers(state, notify, book)

    def execute(self, query, variables=None, operation_name=None):
        """(HTTP status, JSON body) for one GraphQL request."""
        schema = admin_schema()
        try:
            document = parse(query or "")
        except GraphQLError as error:
            return 200, {"errors": [parse_error(error)]}
        operation = get_operation_ast(document, operation_name)
        label = _label(operation)
        errors = validate(schema, document)
        if errors:
            return 200, {"errors": [validation_error(e, label) for e in errors]}
        if operation is None:
            return 200, {"errors": [shopify_error("An operation name is required")]}
        too_big = _oversized_input(variables)
        if too_big:
            return 200, {"errors": [too_big]}
        calculator = CostCalculator(schema, document, operation, variables)
        return self._run(schema, document, operation, calculator, variables)

    def _run(self, schema, document, operation, calculator, variables):
        requested, name = calculator.requested(), _root_name(operation)
        if requested > SINGLE_QUERY_MAX_COST:
            self.state.record_call(name, 0)
            return 200, _max_cost_body(requested, self._cost(requested, 0))
        if not self.bucket.charge(requested):
            # Shopify charges nothing for a throttled query and reports its
            # actual cost as null (it never ran).
            self.state.record_call(name, 0)
            return 200, {
                "errors": [
                    shopify_error(
                        "Throttled", "THROTTLED", documentation=RATE_LIMITS_DOC
                    )
                ],
                "extensions": {"cost": self._cost(requested, None)},
            }
        with self.state.lock:  # resolvers walk the shared dicts
            result = execute_sync(
                schema,
                document,
                root_value=self.resolvers.root(operation.operation.value, variables),
                variable_values=variables or {},
                operation_name=operation.name.value if operation.name else None,
                field_resolver=resolve_field,
            )
        actual = calculator.actual(result.data)
        self.bucket.refund(max(0, requested - actual))
        self.state.record_call(name, actual)
        body = {}
        if result.errors:
            body["errors"] = [_execution_error(e) for e in result.errors]
        body["data"] = result.data
        body["extensions"] = {"cost": self._cost(requested, actual)}
        return 200, body

    def _cost(self, requested, actual):
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": self.bucket.status(),
        }


def _label(operation):
    if operation is None:
        return "anonymous query"
    kind = operation.operation.value
    return operation.name.value if operation.name else f"anonymous {kind}"


def _root_name(operation):
    names = [
        s.name.value for s in operation.selection_set.selections if hasattr(s, "name")
    ]
    return ",".join(names) or "fragment"


def root_fields(payload):
    """Call-count key of a request refused before execution (a fault)."""
    try:
        operation = get_operation_ast(parse(payload.get("query") or ""))
    except (GraphQLError, AttributeError):
        return "unparsable"
    return _root_name(operation) if operation else "unparsable"


def _oversized_input(variables, path=()):
    """Shopify refuses any input array longer than 250 before executing."""
    if isinstance(variables, dict):
        for key, value in variables.items():
            found = _oversized_input(value, (*path, key))
            if found:
                return found
    elif isinstance(variables, list):
        if len(variables) > MAX_INPUT_ARRAY:
            return shopify_error(
                f"The input array size of {len(variables)} is greater than the "
                f"maximum allowed of {MAX_INPUT_ARRAY}.",
                "MAX_INPUT_SIZE_EXCEEDED",
                path=list(path),
            )
        for index, value in enumerate(variables):
            found = _oversized_input(value, (*path, index))
            if found:
                return found
    return None


def _max_cost_body(requested, cost):
    message = (
        f"Query cost is {requested}, which exceeds the single query max cost limit "
        f"({SINGLE_QUERY_MAX_COST}).\n\nSee {RATE_LIMITS_DOC} for more information "
        "on how the\ncost of a query is calculated.\n\nTo query larger amounts of "
        "data with fewer limits, bulk operations should be used instead.\nSee "
        "https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for "
        "usage details.\n"
    )
    error = shopify_error(
        message,
        "MAX_COST_EXCEEDED",
        cost=requested,
        maxCost=SINGLE_QUERY_MAX_COST,
        documentation=RATE_LIMITS_DOC,
    )
    return {"errors": [error], "extensions": {"cost": cost}}


# === ROOT FIELDS ===


class Resolvers:
    """Root query and mutation fields backed by the simulator state."""

    def __init__(self, state, notify, book):
        self.state = state
        self.notify = notify
        self.book = book
        self.catalogue = CatalogueNodes(state)
        self.fulfillment_orders = book.fulfillment_orders
        self.orders = OrderNodes(state, self.catalogue, self.fulfillment_orders)
        self.product_writes = ProductWrites(state)

    def root(self, kind, variables):
        if kind == "mutation":
            return {
                "inventorySetQuantities": lambda info, input: self.set_quantities(  # noqa: A006
                    info, input, variables
                ),
                "fulfillmentCreate": self.fulfillment_create,
                "fulfillmentOrderMove": self.fulfillment_order_move,
                "fulfillmentTrackingInfoUpdate": self.fulfillment_tracking_update,
                "fulfillmentCancel": lambda _info, id: self.fulfillment_cancel(id),  # noqa: A006
                "webhookSubscriptionCreate": self.webhook_create,
                "webhookSubscriptionDelete": self.webhook_delete,
                "productSet": self.product_set,
                "productVariantsBulkUpdate": self.variants_bulk_update,
                "stagedUploadsCreate": lambda _info, input: (  # noqa: A006
                    self.product_writes.uploads.create(input)
                ),
            }
        return {
            "shop": lambda _info: self.catalogue.shop(),
            "locations": self.locations,
            "location": lambda _info, id=None: self._location(id),  # noqa: A006
            "products": self.products,
            "product": lambda _info, id: self._product(id),  # noqa: A006
            "productVariants": self.variants,
            "productOperation": lambda _info, id: self.product_operation(id),  # noqa: A006
            "productVariant": lambda _info, id: self._variant(id),  # noqa: A006
            "inventoryItems": self.inventory_items,
            "inventoryItem": lambda _info, id: self.catalogue.item(number(id)),  # noqa: A006
            "inventoryLevel": lambda _info, id: self._level(id),  # noqa: A006
            "nodes": lambda _info, ids: [self.node(i) for i in ids],
            "node": lambda _info, id: self.node(id),  # noqa: A006
            "orders": self.order_list,
            "ordersCount": self.order_count,
            "order": lambda _info, id: self._order(id),  # noqa: A006
            "return": lambda _info, id: self._return(number(id)),  # noqa: A006
            "refund": lambda _info, id: self._refund(number(id)),  # noqa: A006
            "dispute": lambda _info, id: self._dispute(number(id)),  # noqa: A006
            "fulfillmentOrder": lambda _info, id: self._fulfillment_order(id),  # noqa: A006
            "fulfillment": lambda _info, id: self._fulfillment(id),  # noqa: A006
            "webhookSubscriptions": self.webhooks,
            "webhookSubscription": lambda _info, id: self._webhook(id),  # noqa: A006
            "shopifyPaymentsAccount": lambda _info: self.payments_account(),
        }

    # --- catalogue and inventory

    def product_set(self, _info, input, identifier=None, synchronous=True):  # noqa: A002
        """productSet; `synchronous: false` answers a ProductSetOperation
        (see `ProductWrites.product_set_async`)."""
        if synchronous is False:
            operation = self.product_writes.product_set_async(input, identifier)
            return {
                "product": None,
                "productSetOperation": self._operation(operation),
                "userErrors": [],
            }
        try:
            ref = self.product_writes.product_set(input, identifier)
        except ProductWriteError as error:
            return {
                "product": None,
                "productSetOperation": None,
                "userErrors": [error.error],
            }
        return {
            "product": self.catalogue.product(self.state.products[ref]),
            "productSetOperation": None,
            "userErrors": [],
        }

    def _operation(self, operation):
        product = self.state.products.get(operation["product"] or "")
        return {
            "__typename": "ProductSetOperation",
            "id": gid("ProductSetOperation", operation["id"]),
            "status": operation["status"],
            "product": self.catalogue.product(product) if product else None,
            "userErrors": operation["user_errors"],
        }

    def product_operation(self, global_id):
        """productOperation: the operation, one poll nearer COMPLETE."""
        operation = self.product_writes.poll_operation(number(global_id))
        return self._operation(operation) if operation else None

    def variants_bulk_update(self, _info, productId, variants, **_args):  # noqa: N803
        """productVariantsBulkUpdate: prices, compare-at prices, barcodes."""
        try:
            refs = self.product_writes.variants_bulk_update(productId, variants)
        except ProductWriteError as error:
            return {
                "product": None,
                "productVariants": None,
                "userErrors": [error.error],
            }
        return {
            "product": self._product(productId),
            "productVariants": [self._variant(ref) for ref in refs],
            "userErrors": [],
        }

    def locations(self, _info, query=None, **args):
        items = list(self.state.locations.values())
        items = search(items, query, {"name": lambda loc: loc["name"]})
        return connection(
            [{**loc, "id": int(loc["id"])} for loc in items],
            lambda loc: self.catalogue.location(self.state.locations[str(loc["id"])]),
            **_paging(args),
        )

    def _location(self, global_id):
        location = self.state.locations.get(number(global_id or "1001"))
        return self.catalogue.location(location) if location else None

    def products(self, _info, query=None, **args):
        items = sorted(self.state.products.values(), key=lambda p: int(p["id"]))
        items = search(items, query, PRODUCT_SEARCH)
        return connection(items, self.catalogue.product, **_paging(args))

    def _product(self, global_id):
        product = self.state.products.get(number(global_id))
        return self.catalogue.product(product) if product else None

    def variants(self, _info, query=None, **args):
        items = sorted(self.state.variants.values(), key=lambda v: int(v["id"]))
        items = search(items, query, VARIANT_SEARCH)
        return connection(items, self.catalogue.variant, **_paging(args))

    def _variant(self, global_id):
        variant = self.state.variants.get(number(global_id))
        return self.catalogue.variant(variant) if variant else None

    def inventory_items(self, _info, query=None, **args):
        variants = sorted(self.state.variants.values(), key=lambda v: int(v["id"]))
        variants = search(variants, query, VARIANT_SEARCH)
        items = [{"id": int(v["inventory_item"])} for v in variants]
        return connection(
            items, lambda item: self.catalogue.item(str(item["id"])), **_paging(args)
        )

    def _level(self, global_id):
        location = number(global_id)
        item = str(global_id).rsplit("inventory_item_id=", 1)[-1]
        return self.catalogue.level(item, location)

    def node(self, global_id):
        """`nodes(ids:)`/`node(id:)` for the kinds the simulator knows."""
        kind = str(global_id).split("/")[-2] if "/" in str(global_id) else ""
        builders = {
            "InventoryItem": self.catalogue.item,
            "ProductVariant": self._variant,
            "Product": self._product,
            "Location": self._location,
            "Order": self._order,
            "Return": self._return,
            "Refund": self._refund,
            "InventoryLevel": lambda _ref: self._level(global_id),
        }
        build = builders.get(kind)
        return build(number(global_id)) if build else None

    def set_quantities(self, info, data, variables):
        """inventorySetQuantities: 2026-04+ rules (key and changeFromQuantity)."""
        directive = info.schema.get_directive("idempotent")
        values = get_directive_values(directive, info.field_nodes[0], variables)
        if not values:
            raise GraphQLError(
                "The @idempotent directive is required for this mutation.",
                extensions={"code": "BAD_REQUEST"},
            )
        if not values["key"].strip():
            raise GraphQLError(
                "The idempotency key cannot be an empty string or whitespace only.",
                extensions={"code": "BAD_REQUEST"},
            )
        if any("changeFromQuantity" not in q for q in data["quantities"]):
            raise GraphQLError(
                "changeFromQuantity is required for each quantity: pass the "
                "expected quantity, or null to skip the compare-and-swap check.",
                extensions={"code": "BAD_REQUEST"},
            )
        applied_before = len(self.state.mutations)
        result = self.state.set_quantities(values["key"], data)
        if len(self.state.mutations) > applied_before:
            self._announce_levels(data)
        return result

    def _announce_levels(self, data):
        """Shopify sends inventory_levels/update for the app's own changes too."""
        state = self.state
        items = []
        for quantity in data["quantities"]:
            item, location = (
                number(quantity["inventoryItemId"]),
                number(quantity["locationId"]),
            )
            available = state.levels[(item, location)]
            payload = inventory_level_payload(
                item, location, available, state.wall_clock()
            )
            items.append(("inventory_levels/update", payload))
        self.notify(items)

    # --- orders

    def order_list(self, _info, query=None, sortKey="ID", reverse=False, **args):  # noqa: N803
        key = ORDER_SORT.get(sortKey, ORDER_SORT["ID"])
        items = sorted(self.state.shopify_orders.values(), key=key)
        items = search(items, query, ORDER_SEARCH)
        return connection(
            [{**o, "id": int(o["id"])} for o in items],
            lambda o: self.orders.order(self.state.shopify_orders[str(o["id"])]),
            reverse=reverse,
            **_paging(args),
        )

    def order_count(self, _info, query=None, limit=10000):
        """`ordersCount`: EXACT up to `limit` (null: no limit), else AT_LEAST."""
        items = search(list(self.state.shopify_orders.values()), query, ORDER_SEARCH)
        if limit is not None and len(items) > limit:
            return {"count": limit, "precision": "AT_LEAST"}
        return {"count": len(items), "precision": "EXACT"}

    def _order(self, global_id):
        order = self.state.shopify_orders.get(number(global_id))
        return self.orders.order(order) if order else None

    def _return(self, ref):
        for order in self.state.shopify_orders.values():
            for record in order["returns"]:
                if record["id"] == ref:
                    return self.orders.return_node(order, record)
        return None

    def _refund(self, ref):
        for order in self.state.shopify_orders.values():
            for record in order["refunds"]:
                if record["id"] == ref:
                    return self.orders.refund(order, record, GraphqlMoney(order))
        return None

    def _fulfillment_order(self, global_id):
        order, fo = self.fulfillment_orders.find(number(global_id))
        return self.orders.fulfillment_order(order, fo) if fo else None

    def _fulfillment(self, global_id):
        ref = number(global_id)
        for order in self.state.shopify_orders.values():
            for record in order["fulfillments"]:
                if record["id"] == ref:
                    return self.orders.fulfillment(order, record)
        return None

    def fulfillment_create(self, _info, fulfillment, message=None):
        """Fulfill fulfillment-order lines of one order at one location."""
        del message
        groups = [
            (
                number(group["fulfillmentOrderId"]),
                None
                if group.get("fulfillmentOrderLineItems") is None
                else {
                    number(item["id"]): item["quantity"]
                    for item in group["fulfillmentOrderLineItems"]
                },
            )
            for group in fulfillment["lineItemsByFulfillmentOrder"]
        ]
        try:
            order, record = self.fulfillment_orders.fulfill(
                groups,
                fulfillment.get("trackingInfo") or {},
                fulfillment.get("notifyCustomer"),
            )
        except FulfillmentError as exc:
            return _payload_error("fulfillment", ["fulfillment"], str(exc))
        self.notify(
            [
                ("fulfillments/create", fulfillment_payload(order, record)),
                ("orders/updated", order_payload(order)),
            ]
        )
        return {"fulfillment": self.orders.fulfillment(order, record), "userErrors": []}

    def fulfillment_order_move(
        self,
        _info,
        id,  # noqa: A002
        newLocationId,  # noqa: N803
        fulfillmentOrderLineItems=None,  # noqa: N803
    ):
        """Move (some of) a fulfillment order's lines to another location."""
        wanted = None
        if fulfillmentOrderLineItems is not None:
            wanted = {number(i["id"]): i["quantity"] for i in fulfillmentOrderLineItems}
        try:
            order, moved, original = self.fulfillment_orders.move(
                number(id), number(newLocationId), wanted
            )
        except FulfillmentError as exc:
            return {
                "movedFulfillmentOrder": None,
                "originalFulfillmentOrder": None,
                "remainingFulfillmentOrder": None,
                "userErrors": [{"field": ["id"], "message": str(exc)}],
            }
        return {
            "movedFulfillmentOrder": self.orders.fulfillment_order(order, moved),
            "originalFulfillmentOrder": self.orders.fulfillment_order(order, original),
            "remainingFulfillmentOrder": None
            if moved is original
            else self.orders.fulfillment_order(order, original),
            "userErrors": [],
        }

    def fulfillment_tracking_update(
        self,
        _info,
        fulfillmentId,  # noqa: N803
        trackingInfoInput,  # noqa: N803
        notifyCustomer=None,  # noqa: N803
    ):
        """Replace a fulfillment's tracking (and tell the buyer if asked)."""
        tracking = {
            key: trackingInfoInput[key]
            for key in ("number", "company", "url")
            if trackingInfoInput.get(key)
        }
        try:
            order, record = self.fulfillment_orders.update_tracking(
                number(fulfillmentId), tracking, notifyCustomer
            )
        except FulfillmentError as exc:
            return _payload_error("fulfillment", ["fulfillmentId"], str(exc))
        self.notify([("fulfillments/update", fulfillment_payload(order, record))])
        return {"fulfillment": self.orders.fulfillment(order, record), "userErrors": []}

    def fulfillment_cancel(self, fulfillment_id):
        """Cancel a fulfillment: its quantities are to fulfil again."""
        try:
            order, record = self.fulfillment_orders.cancel(number(fulfillment_id))
        except FulfillmentError as exc:
            return _payload_error("fulfillment", ["id"], str(exc))
        self.notify(
            [
                ("fulfillments/update", fulfillment_payload(order, record)),
                ("orders/updated", order_payload(order)),
            ]
        )
        return {"fulfillment": self.orders.fulfillment(order, record), "userErrors": []}

    # --- webhook subscriptions

    def webhooks(self, _info, topics=None, uri=None, callbackUrl=None, **args):  # noqa: N803
        items = list(self.state.shopify_webhooks.values())
        if topics:
            items = [w for w in items if w["topic"] in topics]
        if uri or callbackUrl:
            items = [w for w in items if w["uri"] == (uri or callbackUrl)]
        return connection(
            [{**w, "id": int(number(w["id"]))} for w in items],
            lambda w: self._webhook_node(
                self.state.shopify_webhooks[gid("WebhookSubscription", w["id"])]
            ),
            **_paging(args),
        )

    def _webhook(self, global_id):
        webhook = self.state.shopify_webhooks.get(global_id)
        return self._webhook_node(webhook) if webhook else None

    def _webhook_node(self, webhook):
        return {
            **webhook,
            "legacyResourceId": number(webhook["id"]),
            "format": "JSON",
            "includeFields": [],
            "filter": None,
            "apiVersion": {"handle": API_VERSION, "displayName": API_VERSION},
            "createdAt": iso_z(webhook["created_at"]),
            "updatedAt": iso_z(webhook["created_at"]),
        }

    def webhook_create(self, _info, topic, webhookSubscription):  # noqa: N803
        uri = webhookSubscription.get("uri") or webhookSubscription.get("callbackUrl")
        error = _check_uri(uri)
        if error:
            return _payload_error(
                "webhookSubscription", ["webhookSubscription", "uri"], error
            )
        state = self.state
        with state.lock:
            if any(
                w["topic"] == topic and w["uri"] == uri
                for w in state.shopify_webhooks.values()
            ):
                return _payload_error(
                    "webhookSubscription",
                    ["webhookSubscription", "callbackUrl"],
                    "Address for this topic has already been taken",
                )
            webhook_id = gid("WebhookSubscription", state.new_id("webhook", 1_400_000))
            state.shopify_webhooks[webhook_id] = {
                "id": webhook_id,
                "topic": topic,
                "uri": uri,
                "name": webhookSubscription.get("name"),
                "created_at": state.wall_clock(),
            }
        return {
            "webhookSubscription": self._webhook(webhook_id),
            "userErrors": [],
        }

    def webhook_delete(self, _info, id):  # noqa: A002
        deleted = self.state.shopify_webhooks.pop(id, None)
        if not deleted:
            return {
                "deletedWebhookSubscriptionId": None,
                "userErrors": [
                    {"field": ["id"], "message": "Webhook subscription does not exist"}
                ],
            }
        return {"deletedWebhookSubscriptionId": id, "userErrors": []}

    # --- Shopify Payments

    def payments_account(self):
        state = self.state
        balance = sum(
            (t["net"] for t in state.balance_transactions if not t["payout_id"]), 0
        )
        return {
            "id": gid("ShopifyPaymentsAccount", 1),
            "activated": True,
            "country": "US",
            "defaultCurrency": state.currency,
            "onboardable": False,
            "balance": [{"amount": f"{balance:.2f}", "currencyCode": state.currency}],
            "payouts": lambda _info, query=None, **args: connection(
                sorted(state.payouts, key=lambda p: -int(p["id"])),
                self._payout,
                **_paging(args),
            ),
            "balanceTransactions": lambda _info, query=None, **args: connection(
                search(
                    sorted(state.balance_transactions, key=lambda t: -int(t["id"])),
                    query,
                    BALANCE_SEARCH,
                ),
                self._balance_transaction,
                **_paging(args),
            ),
        }

    def _dispute(self, ref):
        """`ShopifyPaymentsDispute` from the simulator's dispute record."""
        dispute = self.state.disputes.get(str(ref))
        if dispute is None:
            return None
        order = dispute["order_id"]
        return {
            "id": gid("ShopifyPaymentsDispute", dispute["id"]),
            "legacyResourceId": dispute["id"],
            "status": dispute["status"].upper(),
            "type": dispute["type"].upper(),
            "amount": {
                "amount": dispute["amount"],
                "currencyCode": dispute["currency"],
            },
            "evidenceDueBy": dispute["evidence_due_by"],
            "evidenceSentOn": dispute["evidence_sent_on"],
            "finalizedOn": dispute["finalized_on"],
            "initiatedAt": dispute["initiated_at"],
            "reasonDetails": {
                "reason": dispute["reason"].upper(),
                "networkReasonCode": dispute["network_reason_code"],
            },
            "order": self._order(gid("Order", order)) if order else None,
        }

    def _payout(self, payout):
        currency = self.state.currency
        return {
            "id": gid("ShopifyPaymentsPayout", payout["id"]),
            "legacyResourceId": payout["id"],
            "issuedAt": iso_z(payout["date"]),
            "status": payout["status"].upper(),
            "transactionType": "DEPOSIT",
            "net": {"amount": f"{payout['net']:.2f}", "currencyCode": currency},
            "summary": {
                key: {
                    "amount": f"{payout['summary'][key]:.2f}",
                    "currencyCode": currency,
                }
                for key in payout["summary"]
            },
        }

    def _balance_transaction(self, entry):
        currency = self.state.currency

        def amount(value):
            return {"amount": f"{value:.2f}", "currencyCode": currency}

        return {
            "id": gid("ShopifyPaymentsBalanceTransaction", entry["id"]),
            "type": entry["type"].upper(),
            "test": False,
            "transactionDate": iso_z(entry["date"]),
            "sourceType": entry["source_type"].upper(),
            "sourceId": entry["source_id"],
            "sourceOrderTransactionId": entry["source_order_transaction_id"],
            "amount": amount(entry["amount"]),
            "fee": amount(entry["fee"]),
            "net": amount(entry["net"]),
            "associatedOrder": {
                "id": gid("Order", entry["order_id"]),
                "name": self.state.shopify_orders[entry["order_id"]]["name"],
            }
            if entry["order_id"]
            else None,
            "associatedPayout": {
                "id": gid("ShopifyPaymentsPayout", entry["payout_id"])
                if entry["payout_id"]
                else None,
                "status": entry["payout_status"].upper()
                if entry["payout_id"]
                else None,
            },
            "adjustmentsOrders": [],
        }


def _paging(args):
    keep = ("first", "last", "after", "before", "reverse")
    return {key: value for key, value in args.items() if key in keep}


def _payload_error(key, field, message):
    return {key: None, "userErrors": [{"field": field, "message": message}]}


def _check_uri(uri):
    if not uri:
        return "Address can't be blank"
    if not re.match(r"^(https?://|pubsub://|arn:aws:events:)", uri):
        return "Address is invalid"
    return None


PRODUCT_SEARCH = {
    "id": lambda p: int(p["id"]),
    "title": lambda p: p["title"],
    "status": lambda p: p["status"],
    "updated_at": lambda p: p["updated_at"],
    "created_at": lambda p: p["created_at"],
    "sku": lambda p: None,
}
VARIANT_SEARCH = {
    "id": lambda v: int(v["id"]),
    "sku": lambda v: v["sku"],
    "product_id": lambda v: int(v["product"]),
    "updated_at": lambda v: v["updated_at"],
    "created_at": lambda v: v["created_at"],
}
ORDER_SEARCH = {
    "id": lambda o: int(o["id"]),
    "name": lambda o: o["name"],
    "updated_at": lambda o: o["updated_at"],
    "created_at": lambda o: o["created_at"],
    "processed_at": lambda o: o["processed_at"],
    "financial_status": lambda o: o["financial_status"],
    "email": lambda o: o["email"],
}
ORDER_SORT = {
    "ID": lambda o: int(o["id"]),
    "UPDATED_AT": lambda o: (o["updated_at"], int(o["id"])),
    "CREATED_AT": lambda o: (o["created_at"], int(o["id"])),
    "PROCESSED_AT": lambda o: (o["processed_at"], int(o["id"])),
    "ORDER_NUMBER": lambda o: o["number"],
}
BALANCE_SEARCH = {
    "payout_id": lambda t: int(t["payout_id"]) if t["payout_id"] else None,
    "payments_transfer_id": lambda t: int(t["payout_id"]) if t["payout_id"] else None,
    "type": lambda t: t["type"],
    "processed_at": lambda t: t["date"],
}
