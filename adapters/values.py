"""Outbound values: what Odoo holds, as a channel may receive it.

Odoo reads an empty field as `False`. Sent as it is, `False` becomes the text
"False", a 0 or an empty price on the channel. Every value leaving Odoo for a
channel goes through `outbound` (or `outbound_money`) once, where the models
hand it to an adapter: an empty value becomes None, and None is never sent.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


def outbound(value):
    """`value` as a channel may receive it, None when Odoo holds nothing.

    `False` and None are nothing; text is stripped, and blank text is
    nothing. Numbers other than `False` (a bool is an int in Python) and
    other values are kept as they are.
    """
    if value is None or value is False:
        return None
    if isinstance(value, str):
        return value.strip() or None
    return value


def outbound_money(value, digits=2):
    """An amount as an exact `Decimal` rounded half up to `digits`, None when
    Odoo holds none (`False`, None, blank text) or it is not a number.

    Floats go through their shortest text form, so 19.99 stays 19.99.
    """
    value = outbound(value)
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    return amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def money_text(amount):
    """A `Decimal` amount as the text channels take ("12.50"), None as None."""
    return None if amount is None else format(amount, "f")


def missing_fields(values, required):
    """The names in `required` whose value in `values` is None, in order."""
    return [name for name in required if values.get(name) is None]
