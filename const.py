"""Constants shared by models, controllers and tests of channel_connector."""

# queue_job channels, one per flow so that a slow flow never delays another.
JOB_CHANNEL_ORDERS = "root.channel_connector.orders"
JOB_CHANNEL_STOCK = "root.channel_connector.stock"
JOB_CHANNEL_CATALOG = "root.channel_connector.catalog"
JOB_CHANNEL_WEBHOOKS = "root.channel_connector.webhooks"
# Retries of every connector job before it fails (queue_job's default is 5):
# with the retry patterns of data/queue_job_data.xml a job rides out a
# channel outage of hours (2.5 h for a stock export, 7 h for an event)
# instead of failing after a few minutes; past that its exception's Retry
# takes over. A guard test checks every `with_delay` passes it.
JOB_MAX_RETRIES = 24

# Outcomes of importing one channel order, also the state its event ends in.
DONE = "done"
FAILED = "failed"
DUPLICATE = "duplicate"
IGNORED = "ignored"

# Topic of the bodiless event standing for an order read from the channel (a
# backfill or the reconciliation): its job imports the order.
ORDER_PULL_TOPIC = "orders/pull"

# Prefix of every queue_job identity key, followed by "<flow>.<backend id>...".
IDENTITY_KEY_PREFIX = "channel_connector"


def channel_identity_key(flow, *parts):
    """The queue_job identity key naming one piece of work of `flow`: the same
    parts always give the same key, so queue_job keeps one pending job each."""
    return ".".join(map(str, (IDENTITY_KEY_PREFIX, flow, *parts)))


# Webhook bodies above this size are refused with 413 before being verified;
# the system parameter overrides it.
WEBHOOK_MAX_BYTES_PARAM = "channel_connector.webhook_max_bytes"
DEFAULT_WEBHOOK_MAX_BYTES = 2 * 1024 * 1024
# Only a body this small can be a channel's unsigned set-up ping.
PING_MAX_BYTES = 64
WEBHOOK_ROUTE = "/channel_connector/webhook/<int:backend_id>"
