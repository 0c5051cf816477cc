"""Check SP-API requests and answers against Amazon's OpenAPI models.

The models are Swagger 2.0 (`simulator/reference/amazon/`). Only what the
stand-in uses is checked, strictly: types, required properties, no property
the definition does not declare, enums; query parameters by name, type and
`required`. A violation is a `SchemaError` naming its JSON path.
"""

import functools
import json

from .reference import reference_path


class SchemaError(ValueError):
    """A request or an answer that the OpenAPI model does not allow."""


@functools.cache
def model(name="ordersV0.json"):
    """The parsed OpenAPI model `name` of simulator/reference/amazon/."""
    return json.loads(reference_path("amazon", name).read_text())


def operation(operation_id, name="ordersV0.json"):
    """(path, method, operation) of `operation_id` in model `name`."""
    for path, methods in model(name)["paths"].items():
        for method, op in methods.items():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return path, method, op
    raise KeyError(operation_id)


def check_query(operation_id, args, name="ordersV0.json"):
    """Raise SchemaError for an unknown, missing or mistyped query parameter.

    :param args: {name: [values]} as the request sent them
    """
    _path, _method, op = operation(operation_id, name)
    declared = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
    for key in args:
        if key not in declared:
            raise SchemaError(f"{operation_id}: unknown query parameter {key!r}")
    for key, parameter in declared.items():
        values = args.get(key) or []
        if parameter.get("required") and not values:
            raise SchemaError(f"{operation_id}: missing query parameter {key!r}")
        if parameter.get("type") == "integer":
            for value in values:
                if not str(value).lstrip("-").isdigit():
                    raise SchemaError(f"{operation_id}: {key} must be an integer")


def check_body(operation_id, body, name="ordersV0.json"):
    """Raise SchemaError unless `body` is the operation's JSON body."""
    _path, _method, op = operation(operation_id, name)
    for parameter in op.get("parameters", []):
        if parameter["in"] == "body":
            Validator(model(name)).check(parameter["schema"], body, "$")
            return
    raise SchemaError(f"{operation_id} takes no body")


def check_answer(operation_id, status, body, name="ordersV0.json"):
    """Raise SchemaError unless `body` is what the model says `operation_id`
    answers with `status`."""
    _path, _method, op = operation(operation_id, name)
    response = op["responses"].get(str(status))
    if response is None:
        raise SchemaError(f"{operation_id} declares no answer {status}")
    schema = response.get("schema")
    if schema is not None:
        Validator(model(name)).check(schema, body, "$")


class Validator:
    """A Swagger 2.0 schema walker over one model's definitions."""

    TYPES = {
        "string": str,
        "integer": int,
        "number": (int, float),
        "boolean": bool,
        "array": list,
        "object": dict,
    }

    def __init__(self, spec):
        self.definitions = spec.get("definitions", {})

    def check(self, schema, value, where):
        schema = self._resolve(schema)
        for part in schema.get("allOf", ()):
            self.check(part, value, where)
        kind = schema.get("type") or ("object" if "properties" in schema else None)
        if kind:
            self._check_type(kind, value, where)
        if "enum" in schema and value not in schema["enum"]:
            raise SchemaError(f"{where}: {value!r} is not one of {schema['enum']}")
        if kind == "array":
            for index, item in enumerate(value):
                self.check(schema.get("items", {}), item, f"{where}[{index}]")
        elif kind == "object":
            self._check_object(schema, value, where)

    def _check_type(self, kind, value, where):
        expected = self.TYPES[kind]
        if isinstance(value, bool) and kind in ("integer", "number"):
            raise SchemaError(f"{where}: expected {kind}, got a boolean")
        if not isinstance(value, expected):
            raise SchemaError(f"{where}: expected {kind}, got {type(value).__name__}")

    def _check_object(self, schema, value, where):
        properties = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in value:
                raise SchemaError(f"{where}: missing required {key!r}")
        extra = schema.get("additionalProperties", not properties)
        for key, item in value.items():
            if key in properties:
                self.check(properties[key], item, f"{where}.{key}")
            elif extra is False:
                raise SchemaError(f"{where}: {key!r} is not in the model")
            elif isinstance(extra, dict):
                self.check(extra, item, f"{where}.{key}")

    def _resolve(self, schema):
        while "$ref" in schema:
            schema = self.definitions[schema["$ref"].rsplit("/", 1)[-1]]
        return schema
