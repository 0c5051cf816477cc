"""Shopify's cost-based leaky bucket and its documented cost calculation.

Cost rules (shopify.dev "GraphQL Admin API rate limits"): scalars and enums
0, objects 1, connections 2 plus `first`/`last` times the cost of one node,
mutations 10; the requested cost is computed before execution and charged up
front, then the bucket is refunded down to the actual cost (a connection that
returned fewer nodes, an object that was null).
"""

import threading

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    get_named_type,
    is_leaf_type,
    is_list_type,
    value_from_ast_untyped,
)
from graphql.type import is_non_null_type

MUTATION_COST = 10
# Fields of a connection that describe the page rather than its nodes.
PAGE_FIELDS = {"pageInfo", "cursor", "totalCount", "__typename"}


class LeakyBucket:
    """`size` points, refilled continuously at `rate` points per second."""

    def __init__(self, size, rate, clock):
        self.size, self.rate, self.clock = size, rate, clock
        self.available = float(size)
        self.updated = clock()
        self.lock = threading.Lock()

    def _refill(self):
        now = self.clock()
        elapsed = max(0.0, now - self.updated)
        self.available = min(float(self.size), self.available + elapsed * self.rate)
        self.updated = now

    def charge(self, cost):
        """Take `cost` points; False and nothing taken when they are not there."""
        with self.lock:
            self._refill()
            if cost > self.available:
                return False
            self.available -= cost
            return True

    def refund(self, points):
        with self.lock:
            self._refill()
            self.available = min(float(self.size), self.available + points)

    def drain(self):
        with self.lock:
            self._refill()
            self.available = 0.0

    def status(self):
        with self.lock:
            self._refill()
            return {
                "maximumAvailable": float(self.size),
                "currentlyAvailable": int(self.available),
                "restoreRate": float(self.rate),
            }


class CostCalculator:
    """Requested and actual cost of one validated document."""

    def __init__(self, schema, document, operation, variables):
        self.schema = schema
        self.operation = operation
        self.variables = variables or {}
        self.fragments = {
            d.name.value: d
            for d in document.definitions
            if not isinstance(d, OperationDefinitionNode)
        }

    @property
    def is_mutation(self):
        return self.operation.operation.value == "mutation"

    def requested(self):
        if self.is_mutation:
            return MUTATION_COST * len(self.operation.selection_set.selections)
        return self._selection(self.schema.query_type, self.operation.selection_set)

    def actual(self, data):
        if self.is_mutation:
            return self.requested()
        if data is None:
            return 0
        return self._actual(self.schema.query_type, self.operation.selection_set, data)

    # === REQUESTED ===

    def _selection(self, parent, selection_set):
        """Plain fields add up; fragments on other types count the dearest."""
        total, branches = 0, [0]
        for field, on_type in self._fields(parent, selection_set):
            cost = self._field(on_type, field)
            if on_type is parent:
                total += cost
            else:
                branches.append(cost)
        return total + max(branches)

    def _field(self, parent, field):
        definition = _field_definition(parent, field)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        if named.name.endswith("Connection"):
            return 2 + self._size(field) * self._node_cost(named, field)
        each = 1 + self._selection(named, field.selection_set)
        if _is_list(definition.type):
            return self._size(field, default=1) * each
        return each

    def _node_cost(self, connection, field):
        node_type = get_named_type(connection.fields["nodes"].type)
        costs = [0]
        for sub, _on in self._fields(connection, field.selection_set):
            if sub.name.value == "nodes":
                costs.append(1 + self._selection(node_type, sub.selection_set))
            elif sub.name.value == "edges":
                for edge_field, _t in self._fields(
                    get_named_type(connection.fields["edges"].type), sub.selection_set
                ):
                    if edge_field.name.value == "node":
                        costs.append(
                            1 + self._selection(node_type, edge_field.selection_set)
                        )
        return max(costs)

    def _size(self, field, default=0):
        for argument in field.arguments:
            if argument.name.value in ("first", "last"):
                value = value_from_ast_untyped(argument.value, self.variables)
                return int(value or 0)
            if argument.name.value == "ids":
                value = value_from_ast_untyped(argument.value, self.variables)
                return len(value or ())
        return default

    def _fields(self, parent, selection_set):
        """(field node, type it is selected on), flattening fragments."""
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                yield selection, parent
                continue
            if isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                condition, inner = fragment.type_condition, fragment.selection_set
            elif isinstance(selection, InlineFragmentNode):
                condition, inner = selection.type_condition, selection.selection_set
            else:
                continue
            on_type = (
                self.schema.get_type(condition.name.value) if condition else parent
            )
            for field, _ in self._fields(on_type, inner):
                yield field, on_type if on_type is not None else parent

    # === ACTUAL ===

    def _actual(self, parent, selection_set, data):
        total = 0
        for field, on_type in self._fields(parent, selection_set):
            key = field.alias.value if field.alias else field.name.value
            if not isinstance(data, dict) or key not in data:
                continue
            total += self._actual_field(on_type, field, data[key])
        return total

    def _actual_field(self, parent, field, value):
        definition = _field_definition(parent, field)
        if definition is None or value is None:
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        if named.name.endswith("Connection"):
            return 2 + self._actual_nodes(named, field, value)
        if isinstance(value, list):
            return sum(
                1 + self._actual(named, field.selection_set, item) for item in value
            )
        return 1 + self._actual(named, field.selection_set, value)

    def _actual_nodes(self, connection, field, value):
        node_type = get_named_type(connection.fields["nodes"].type)
        best = 0
        for sub, _on in self._fields(connection, field.selection_set):
            key = sub.alias.value if sub.alias else sub.name.value
            items = value.get(key) or []
            if sub.name.value == "nodes":
                cost = sum(
                    1 + self._actual(node_type, sub.selection_set, n) for n in items
                )
            elif sub.name.value == "edges":
                cost = sum(
                    1 + self._actual_edge(node_type, sub.selection_set, edge)
                    for edge in items
                )
            else:
                continue
            best = max(best, cost)
        return best

    def _actual_edge(self, node_type, selection_set, edge):
        for field, _on in self._fields(None, selection_set):
            if field.name.value == "node":
                key = field.alias.value if field.alias else "node"
                return self._actual(node_type, field.selection_set, edge.get(key))
        return 0


def _field_definition(parent, field):
    if parent is None or not hasattr(parent, "fields"):
        return None
    return parent.fields.get(field.name.value)


def _is_list(field_type):
    inner = field_type.of_type if is_non_null_type(field_type) else field_type
    return is_list_type(inner)
