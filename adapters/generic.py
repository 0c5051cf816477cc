"""The `generic` channel: any system that pushes our documented JSON format.

It has no API of its own to call: its orders arrive as signed webhooks.
"""

from .base import ChannelAdapter
from .exceptions import ChannelAuthError


class GenericAdapter(ChannelAdapter):
    """Checks configuration only; deliveries come in through the webhook."""

    code = "generic"

    def test_connection(self):
        """A generic channel is usable once it has a webhook signing secret."""
        if not self.config.get("webhook_secret"):
            raise ChannelAuthError("No webhook signing secret is configured.")
        return "Push-only channel: deliveries are verified with the signing secret."
