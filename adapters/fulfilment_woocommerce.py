"""WooCommerce fulfilment: WooCommerce has no shipments, so a delivery is an
order note (carrier and tracking, sent to the buyer per policy), an entry in
the order's meta data (one per delivery, its key the request's
`shipment_ref`), and the `completed` status once the order ships whole.

The meta entry makes a replay harmless: a shipment already listed there adds
no second note. A lost answer between the note and the meta write can leave
a duplicate note, never a missing one.
"""

from .exceptions import ChannelPayloadError
from .records import FulfilmentResult

SHIPMENTS_META_KEY = "_channel_connector_shipments"


def shipments(order):
    """{shipment ref: entry} of the order's meta data."""
    for meta in order.get("meta_data") or ():
        if meta.get("key") == SHIPMENTS_META_KEY and isinstance(
            meta.get("value"), list
        ):
            return {
                str(entry.get("shipment")): entry
                for entry in meta["value"]
                if isinstance(entry, dict)
            }
    return {}


def note_text(request):
    """The order note of a shipment: carrier, number and tracking link."""
    parts = ["Shipped"]
    if request.tracking_company:
        parts.append(f"with {request.tracking_company}")
    text = " ".join(parts)
    if request.tracking_number:
        text += f", tracking number {request.tracking_number}"
    if request.tracking_url:
        text += f" ({request.tracking_url})"
    return text + "."


def _entry(request, note_id):
    return {
        "shipment": request.shipment_ref,
        "note": note_id,
        "tracking_number": request.tracking_number,
        "carrier": request.tracking_company,
        "tracking_url": request.tracking_url,
        "lines": {line.line_ref: line.quantity for line in request.lines},
    }


def push_fulfilment(adapter, request, update=False):
    """Report a `FulfilmentRequest` on a WooCommerce order (see module doc);
    `update`: the shipment is known, its tracking changed."""
    if not request.shipment_ref:
        raise ChannelPayloadError("A WooCommerce shipment needs a reference.")
    route = f"orders/{request.order_ref}"
    order = adapter.get(route).json()
    known = shipments(order)
    entry = known.get(request.shipment_ref)
    if entry and not update:
        return FulfilmentResult(already_fulfilled=True)
    note = adapter.post(
        f"{route}/notes",
        {
            "note": note_text(request),
            "customer_note": bool(request.notify_customer),
        },
    ).json()
    known[request.shipment_ref] = _entry(request, note.get("id"))
    values = {"meta_data": [{"key": SHIPMENTS_META_KEY, "value": list(known.values())}]}
    if request.order_fully_shipped and order.get("status") != "completed":
        values["status"] = "completed"
    adapter.put(route, values)
    return FulfilmentResult(fulfilment_refs=(str(note.get("id")),))
