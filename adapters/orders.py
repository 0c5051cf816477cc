"""What an imported order becomes, from its channel status.

One table for every provider; a backend overrides it with status rules
(`channel.order.status.rule`: financial and/or fulfilment status → action,
first match by sequence). Actions:

- ``wait``: not imported yet (payment pending); a later update imports it;
- ``quotation``: imported as a quotation, not confirmed;
- ``confirm``: imported and confirmed (then invoiced and paid per policy);
- ``cancel``: not imported; cancels the sale order if it was imported.

=============  ==========================  =========
provider       channel status              action
=============  ==========================  =========
shopify        pending                     wait
shopify        authorized                  confirm
shopify        partially_paid              confirm
shopify        paid                        confirm
shopify        partially_refunded          confirm
shopify        refunded                    confirm
shopify        voided                      cancel
shopify        expired                     cancel
woocommerce    pending                     wait
woocommerce    on-hold                     quotation
woocommerce    processing                  confirm
woocommerce    completed                   confirm
woocommerce    refunded                    confirm
woocommerce    cancelled                   cancel
woocommerce    failed                      cancel
woocommerce    checkout-draft              wait
generic        pending                     wait
generic        quotation                   quotation
generic        paid                        confirm
generic        cancelled                   cancel
=============  ==========================  =========

A cancelled order (a cancellation date) is ``cancel`` whatever its status;
an unknown status imports a quotation so that a person looks at it.
"""

DEFAULT_STATUS_ACTIONS = {
    ("shopify", "pending"): "wait",
    ("shopify", "authorized"): "confirm",
    ("shopify", "partially_paid"): "confirm",
    ("shopify", "paid"): "confirm",
    ("shopify", "partially_refunded"): "confirm",
    ("shopify", "refunded"): "confirm",
    ("shopify", "voided"): "cancel",
    ("shopify", "expired"): "cancel",
    ("woocommerce", "pending"): "wait",
    ("woocommerce", "on-hold"): "quotation",
    ("woocommerce", "processing"): "confirm",
    ("woocommerce", "completed"): "confirm",
    ("woocommerce", "refunded"): "confirm",
    ("woocommerce", "cancelled"): "cancel",
    ("woocommerce", "failed"): "cancel",
    ("woocommerce", "checkout-draft"): "wait",
    ("generic", "pending"): "wait",
    ("generic", "quotation"): "quotation",
    ("generic", "paid"): "confirm",
    ("generic", "cancelled"): "cancel",
}
IMPORT_ACTIONS = ("wait", "quotation", "confirm", "cancel")


def order_status_action(provider, financial_status, fulfillment_status, cancelled):
    """The import action for an order in these channel statuses.

    The fulfilment status does not change the action today (a fulfilled
    order is still imported and confirmed); it is part of the signature so a
    provider can make it matter without changing callers.
    """
    del fulfillment_status
    if cancelled:
        return "cancel"
    status = (financial_status or "").lower()
    return DEFAULT_STATUS_ACTIONS.get((provider, status), "quotation")
