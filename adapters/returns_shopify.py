"""Shopify returns (Return API): a `returns/*` delivery names the return, read
through GraphQL `return(id:)` with the order lines it brings back."""

from .exceptions import ChannelPayloadError
from .orders_shopify import _ref
from .records import ReturnData, quantity

RETURN_TOPICS = frozenset({"returns/approve", "returns/cancel", "returns/decline"})
MAX_RETURN_LINES = 100
RETURN_QUERY = f"""
query ChannelConnectorReturn($id: ID!) {{
  return(id: $id) {{
    id name status
    order {{ id }}
    returnLineItems(first: {MAX_RETURN_LINES}) {{
      pageInfo {{ hasNextPage }}
      nodes {{
        ... on ReturnLineItem {{
          id quantity
          fulfillmentLineItem {{ lineItem {{ id }} }}
        }}
      }}
    }}
  }}
}}
"""


def parse_return_notice(topic, payload):
    """The return a `returns/*` body names, None for other topics."""
    if topic not in RETURN_TOPICS:
        return None
    ref = _ref(payload.get("admin_graphql_api_id") or payload.get("id"))
    if not ref:
        raise ChannelPayloadError(f"The {topic} body has no return id.")
    return ref


def parse_graphql_return(node):
    """Canonical return from the `return` node of RETURN_QUERY."""
    if not isinstance(node, dict) or not node.get("id"):
        raise ChannelPayloadError("The Shopify return has no id.")
    items = node.get("returnLineItems") or {}
    if (items.get("pageInfo") or {}).get("hasNextPage"):
        raise ChannelPayloadError(
            f"Return {_ref(node['id'])} has more than {MAX_RETURN_LINES} lines."
        )
    order_ref = _ref((node.get("order") or {}).get("id"))
    if not order_ref:
        raise ChannelPayloadError(f"The Shopify return {node['id']} has no order.")
    return ReturnData(
        external_ref=_ref(node["id"]),
        order_ref=order_ref,
        status=(node.get("status") or "").lower(),
        name=node.get("name"),
        lines=tuple(_line(item) for item in items.get("nodes") or ()),
    )


def _line(item):
    line = ((item or {}).get("fulfillmentLineItem") or {}).get("lineItem") or {}
    if not _ref(line.get("id")):
        raise ChannelPayloadError("A Shopify return line names no order line.")
    return (
        _ref(line["id"]),
        quantity(item.get("quantity"), "returnLineItems.quantity"),
    )
