"""The interface every channel adapter implements.

An adapter is built from a plain configuration dict by
`channel.backend._get_adapter()` and knows nothing of Odoo: it turns channel
HTTP and payloads into plain Python values and `adapters.exceptions`.
"""

from .transport import ChannelTransport


class ChannelAdapter:
    """Base class: configuration, transport and the operations of a channel."""

    code = None

    def __init__(self, config, transport=None):
        self.config = config
        self.transport = transport or ChannelTransport(
            timeout=config.get("timeout") or 20
        )

    def test_connection(self):
        """Check that the channel answers with our credentials.

        Return a short human description of the account (e.g. the shop name);
        raise ChannelAuthError or another ChannelError on failure.
        """
        raise NotImplementedError
