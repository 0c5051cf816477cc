"""Check JSON listings feeds and their processing reports against Amazon's
JSON Schemas (draft-07, `simulator/reference/amazon/listings-feed-*.json`).

Only the keywords those two schemas use are understood: type, const, enum,
properties (a `false` property forbids the key), required,
additionalProperties, minProperties, items, minItems, maxItems, minLength,
minimum, maximum and oneOf. A violation is a `SchemaError` naming its path.
"""

import functools
import json

from .amazon_schema import SchemaError, Validator
from .reference import reference_path

FEED_SCHEMA = "listings-feed-schema-v2.json"
REPORT_SCHEMA = "listings-feed-processing-report-schema-v2.json"
TYPES = Validator.TYPES


@functools.cache
def schema(name):
    """The parsed JSON Schema `name` of simulator/reference/amazon/."""
    return json.loads(reference_path("amazon", name).read_text())


def check_feed(document):
    """Raise SchemaError unless `document` is a JSON listings feed (v2)."""
    check(schema(FEED_SCHEMA), document, "$")


def check_report(document):
    """Raise SchemaError unless `document` is a listings feed processing report."""
    check(schema(REPORT_SCHEMA), document, "$")


def check(rule, value, where):
    """Raise SchemaError unless `value` satisfies the schema `rule`."""
    if rule is False:
        raise SchemaError(f"{where}: not allowed")
    if rule is True:
        return
    _check_type(rule.get("type"), value, where)
    if "const" in rule and value != rule["const"]:
        raise SchemaError(f"{where}: must be {rule['const']!r}")
    if "enum" in rule and value not in rule["enum"]:
        raise SchemaError(f"{where}: {value!r} is not one of {rule['enum']}")
    _check_bounds(rule, value, where)
    if isinstance(value, list):
        for index, item in enumerate(value):
            check(rule.get("items", True), item, f"{where}[{index}]")
    if isinstance(value, dict):
        _check_object(rule, value, where)
    if "oneOf" in rule:
        _check_one_of(rule["oneOf"], value, where)


def _check_type(kind, value, where):
    if not kind:
        return
    if isinstance(value, bool) and kind in ("integer", "number"):
        raise SchemaError(f"{where}: expected {kind}, got a boolean")
    if not isinstance(value, TYPES[kind]):
        raise SchemaError(f"{where}: expected {kind}, got {type(value).__name__}")


def _check_bounds(rule, value, where):
    bounds = (
        ("minItems", list, lambda v, n: len(v) >= n),
        ("maxItems", list, lambda v, n: len(v) <= n),
        ("minLength", str, lambda v, n: len(v) >= n),
        ("minProperties", dict, lambda v, n: len(v) >= n),
        ("minimum", (int, float), lambda v, n: v >= n),
        ("maximum", (int, float), lambda v, n: v <= n),
    )
    for keyword, kind, holds in bounds:
        if (
            keyword in rule
            and isinstance(value, kind)
            and not holds(value, rule[keyword])
        ):
            raise SchemaError(f"{where}: breaks {keyword} {rule[keyword]}")


def _check_object(rule, value, where):
    properties = rule.get("properties", {})
    for key in rule.get("required", ()):
        if key not in value:
            raise SchemaError(f"{where}: missing required {key!r}")
    extra = rule.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            check(properties[key], item, f"{where}.{key}")
        else:
            check(extra, item, f"{where}.{key}")


def _check_one_of(options, value, where):
    passed = 0
    for option in options:
        try:
            check(option, value, where)
        except SchemaError:
            continue
        passed += 1
    if passed != 1:
        raise SchemaError(f"{where}: matches {passed} of the oneOf schemas, not 1")
