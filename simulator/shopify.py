"""The Shopify side of the simulator: Admin GraphQL 2026-07 on the real schema.

Documents are parsed and validated against Shopify's own introspection schema
(../shared/reference/shopify/admin_2026-07.json.gz), then executed by
graphql-core with plain dict/callable resolvers over `ShopifyState`.
"""

import gzip
import json
import math
import threading
from functools import cache

from graphql import GraphQLError, build_client_schema, execute_sync, parse, validate
from graphql.execution.values import get_directive_values
from graphql.language import FieldNode, OperationDefinitionNode

from .reference import reference_path

API_VERSION = "2026-07"
MAX_INPUT_ITEMS = 250
SINGLE_QUERY_MAX_COST = 1000


@cache
def admin_schema():
    """The real Admin API schema, loaded once per process (about 0.5 s)."""
    with gzip.open(reference_path("shopify", f"admin_{API_VERSION}.json.gz")) as file:
        return build_client_schema(json.load(file)["data"])


def gid(kind, number):
    return f"gid://shopify/{kind}/{number}"


def number(global_id):
    return str(global_id).rsplit("/", 1)[-1]


class LeakyBucket:
    """Shopify's cost-based rate limit: `size` points refilled at `rate`/s."""

    def __init__(self, size, rate, clock):
        self.size, self.rate, self.clock = size, rate, clock
        self.available = float(size)
        self.updated = clock()
        self.lock = threading.Lock()

    def _refill(self):
        now = self.clock()
        self.available = min(
            self.size, self.available + (now - self.updated) * self.rate
        )
        self.updated = now

    def take(self, cost):
        """Charge `cost` points; False (nothing charged) when not available."""
        with self.lock:
            self._refill()
            if cost > self.available:
                return False
            self.available -= cost
            return True

    def drain(self):
        with self.lock:
            self._refill()
            self.available = 0.0

    def status(self):
        with self.lock:
            self._refill()
            return {
                "maximumAvailable": float(self.size),
                "currentlyAvailable": math.floor(self.available),
                "restoreRate": float(self.rate),
            }


def requested_cost(document):
    """Shopify's documented calculation, simplified: a mutation costs 10, an
    object field 1, a connection 2 plus its children times `first`."""
    operation = next(
        d for d in document.definitions if isinstance(d, OperationDefinitionNode)
    )
    if operation.operation.value == "mutation":
        return 10
    return max(1, _selection_cost(operation.selection_set))


def _selection_cost(selection_set, multiplier=1):
    cost = 0
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            if selection.selection_set is None:
                continue
            first = next(
                (
                    a.value
                    for a in selection.arguments
                    if a.name.value in ("first", "last")
                ),
                None,
            )
            size = int(first.value) if getattr(first, "value", None) else 1
            cost += multiplier * (2 if first else 1)
            cost += _selection_cost(selection.selection_set, multiplier * size)
        else:
            cost += _selection_cost(selection.selection_set, multiplier)
    return cost


class ShopifyGraphql:
    """Executes Admin API requests for one shop."""

    def __init__(self, state, bucket):
        self.state = state
        self.bucket = bucket

    def execute(self, query, variables):
        """(HTTP status, JSON body) for one GraphQL request."""
        try:
            document = parse(query)
        except GraphQLError as error:
            return 200, {"errors": [_error(error.message, "parseError")]}
        errors = validate(admin_schema(), document)
        if errors:
            return 200, {
                "errors": [_error(e.message, "undefinedField") for e in errors]
            }
        cost = requested_cost(document)
        self.state.record_call(_operation_name(document), cost)
        if cost > SINGLE_QUERY_MAX_COST:
            return 200, {
                "errors": [_error("Query cost exceeds 1000", "MAX_COST_EXCEEDED")]
            }
        fault = self.state.take_fault("shopify")
        if fault == "throttled":
            self.bucket.drain()
        if fault == "throttled" or not self.bucket.take(cost):
            return 200, {
                "errors": [_error("Throttled", "THROTTLED")],
                "extensions": {"cost": self._cost(cost, 0)},
            }
        result = execute_sync(
            admin_schema(),
            document,
            root_value=Resolvers(self.state, variables or {}),
            variable_values=variables or {},
        )
        body = {"data": result.data}
        if result.errors:
            body["errors"] = [_error(e.message, "INTERNAL") for e in result.errors]
        body["extensions"] = {"cost": self._cost(cost, cost)}
        return 200, body

    def _cost(self, requested, actual):
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": self.bucket.status(),
        }


def _operation_name(document):
    operation = next(
        d for d in document.definitions if isinstance(d, OperationDefinitionNode)
    )
    field = operation.selection_set.selections[0]
    return field.name.value


def _error(message, code):
    return {"message": message, "extensions": {"code": code}}


class Resolvers:
    """Root value: graphql-core calls these attributes for root fields."""

    def __init__(self, state, variables):
        self.state = state
        self.variables = variables

    def shop(self, _info):
        return {
            "name": self.state.shop_name,
            "myshopifyDomain": self.state.shop_domain,
            "currencyCode": self.state.currency,
            "ianaTimezone": "UTC",
        }

    def nodes(self, _info, ids, **_defaults):
        return [self.state.node(node_id) for node_id in ids]

    def order(self, _info, id, **_defaults):  # noqa: A002 - GraphQL argument name
        return self.state.orders_graphql.get(number(id))

    def orders(self, _info, first, after=None, query=None, **_defaults):
        return self.state.orders_page(first, after, query)

    def webhookSubscriptions(self, _info, first, **_defaults):  # noqa: N802
        nodes = list(self.state.shopify_webhooks.values())[:first]
        return {"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": None}}

    def webhookSubscriptionCreate(self, _info, topic, webhookSubscription):  # noqa: N802, N803
        return self.state.create_shopify_webhook(topic, webhookSubscription)

    def webhookSubscriptionDelete(self, _info, id):  # noqa: N802, A002
        deleted = self.state.shopify_webhooks.pop(id, None)
        errors = [] if deleted else [{"field": ["id"], "message": "not found"}]
        return {
            "deletedWebhookSubscriptionId": id if deleted else None,
            "userErrors": errors,
        }

    def inventorySetQuantities(self, info, input):  # noqa: N802, A002
        directive = admin_schema().get_directive("idempotent")
        values = get_directive_values(directive, info.field_nodes[0], self.variables)
        if not values:
            raise GraphQLError("The @idempotent directive is required from 2026-04.")
        return self.state.set_quantities(values["key"], input)
