"""What an imported order becomes, from its channel status.

Each adapter holds its provider's table (`ChannelAdapter.status_actions`:
financial status -> action, listed in the README); a backend overrides it
with status rules (`channel.order.status.rule`: financial and/or fulfilment
status -> action, first match by sequence). Actions:

- ``wait``: not imported yet (payment pending); a later update imports it;
- ``quotation``: imported as a quotation, not confirmed;
- ``confirm``: imported and confirmed (then invoiced and paid per policy);
- ``cancel``: not imported; cancels the sale order if it was imported.

A cancelled order (a cancellation date) is ``cancel`` whatever its status;
an unknown status imports a quotation so that a person looks at it.
"""

IMPORT_ACTIONS = ("wait", "quotation", "confirm", "cancel")
