"""Field checks shared by the generic JSON formats (orders, refunds,
disputes). The add-on cannot depend on `jsonschema`, so payloads are checked
field by field, with messages naming the field (``lines[0].quantity``)."""

from .exceptions import ChannelPayloadError
from .records import PaymentTransactionData, money
from .webhooks import parse_timestamp

JSON_TYPE_NAMES = {str: "string", bool: "boolean", dict: "object", list: "array"}
TRANSACTION_STATUSES = ("success", "pending", "failure", "error")


def require(item, fields, where):
    """Each of `fields` is present and not empty."""
    for name in fields:
        if item.get(name) in (None, ""):
            raise ChannelPayloadError(f"{where}.{name} is required.")


def check_types(item, types, where):
    """Each present field of `types` ({name: Python type}) has its JSON type."""
    for name, expected in types.items():
        value = item.get(name)
        if value is not None and not isinstance(value, expected):
            raise ChannelPayloadError(
                f"{where}.{name} must be a JSON {JSON_TYPE_NAMES[expected]}, "
                f"not {type(value).__name__}."
            )


def amount(item, name, where):
    """A decimal-string amount; JSON numbers are refused (floats lose cents)."""
    value = item.get(name)
    if value is not None and not isinstance(value, str):
        raise ChannelPayloadError(f"{where}.{name} must be a decimal string.")
    return money(value, f"{where}.{name}")


def timestamp(item, name, where):
    """An optional ISO-8601 datetime with an offset."""
    value = item.get(name)
    if value is not None and not isinstance(value, str):
        raise ChannelPayloadError(f"{where}.{name} must be an ISO-8601 string.")
    return parse_timestamp(value)


def strings(item, name, where):
    """An optional list of strings, as a tuple."""
    values = tuple(item.get(name) or ())
    if not all(isinstance(value, str) for value in values):
        raise ChannelPayloadError(f"{where}.{name} must be a list of strings.")
    return values


def items(payload, name, parse, included):
    """Parse each object of a list field with `parse(item, where, included)`."""
    parsed = []
    for index, item in enumerate(payload.get(name) or ()):
        where = f"{name}[{index}]"
        if not isinstance(item, dict):
            raise ChannelPayloadError(f"{where} is not an object.")
        parsed.append(parse(item, where, included))
    return tuple(parsed)


def transaction(item, where, kind):
    """A payment or refund transaction of `kind`: `gateway` and `amount`
    required, `status` one of TRANSACTION_STATUSES (default success),
    `transaction_id` the processor's reference."""
    require(item, ("gateway", "amount"), where)
    status = item.get("status") or "success"
    if status not in TRANSACTION_STATUSES:
        msg = f"{where}.status must be one of {TRANSACTION_STATUSES}."
        raise ChannelPayloadError(msg)
    return PaymentTransactionData(
        external_ref=item.get("id"),
        gateway=item["gateway"],
        kind=kind,
        status=status,
        amount=amount(item, "amount", where),
        currency=item.get("currency"),
        transaction_ref=item.get("transaction_id"),
        processed_at=timestamp(item, "processed_at", where),
    )
