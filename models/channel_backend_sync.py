from datetime import timedelta, timezone
from urllib.parse import urlsplit

from odoo import api, fields, models

from ..adapters.redaction import get_logger
from ..const import (
    JOB_CHANNEL_CATALOG,
    JOB_CHANNEL_ORDERS,
    JOB_MAX_RETRIES,
    ORDER_PULL_TOPIC,
    WEBHOOK_ROUTE,
)

_logger = get_logger(__name__)

# A pull looks this much further back than the last one, so that an order
# updated while the previous pull ran is not missed.
PULL_OVERLAP = timedelta(minutes=5)
# Pages of orders one reconciliation job walks (50 orders a page): past them it
# hands the channel's cursor to a next job, so that one transaction never grows
# with the size of the channel's backlog.
RECONCILE_PAGES_PER_JOB = 20
# Above a backfill's jobs, below the webhooks' (the default, 10).
RECONCILE_PRIORITY = 20


class ChannelBackend(models.Model):
    """Keeping the channel honest: webhook subscriptions that heal themselves
    and a reconciliation pull that repairs missed deliveries and measures them."""

    _inherit = "channel.backend"

    # === FIELDS ===

    reconcile_interval = fields.Integer(
        string="Reconciliation pull (min)",
        default=60,
        required=True,
        help="Minutes between two pulls of the orders the channel changed.",
    )
    reconcile_grace_minutes = fields.Integer(
        string="Webhook grace (min)",
        default=5,
        required=True,
        help="The reconciliation pull leaves an order changed on the channel "
        "less than this many minutes ago to its webhook, which is probably on "
        "its way; the next pull looks at it again.",
    )
    last_reconciliation = fields.Datetime(compute="_compute_run_state")
    webhook_check_message = fields.Char(compute="_compute_run_state")

    # === CRUD METHODS ===

    def write(self, vals):
        """Switching a flow on or off changes the topics the channel must
        send: a connected backend checks its subscriptions in a job."""
        if not self._get_webhook_topic_field_names().intersection(vals):
            return super().write(vals)
        before = {backend: backend._get_required_webhook_topics() for backend in self}
        result = super().write(vals)
        for backend, topics in before.items():
            if (
                backend.state == "connected"
                and backend.supports_webhooks
                and backend._get_required_webhook_topics() != topics
            ):
                backend._enqueue_webhook_sync()
        return result

    @api.model
    def _get_webhook_topic_field_names(self):
        """Hook: the fields `_get_required_webhook_topics` reads."""
        return {"import_orders", "export_stock", "publish_catalogue"}

    # === ACTION METHODS ===

    def action_sync_webhooks(self):
        self._check_manager_rights()
        for backend in self:
            backend._sync_webhook_subscriptions()

    def action_reconcile_orders(self):
        self._check_manager_rights()
        for backend in self:
            backend._enqueue_reconciliation()

    # === BUSINESS METHODS ===

    def _get_webhook_address(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        path = WEBHOOK_ROUTE.replace("<int:backend_id>", str(self.id))
        return f"{base_url.rstrip('/')}{path}"

    def _sync_webhook_subscriptions(self):
        """Create missing subscriptions, replace misrouted ones, re-activate
        the ones the channel switched off, delete ours no flow needs any more.

        A subscription is ours when its URL path is exactly this backend's
        route (`/channel_connector/webhook/1` is not `.../webhook/12`); one of
        ours at another host is deleted and created again; one at our address
        that the channel paused or disabled (some do after repeated failed
        deliveries) is re-activated. One of ours on a topic that no enabled
        flow needs (stock export switched off: inventory levels) is deleted,
        so that the channel stops sending deliveries that each cost a request
        and a job. Subscriptions of other apps and other backends are left
        alone.

        :return: {"created", "replaced", "reactivated", "removed": [topic]}
        """
        self.ensure_one()
        topics = self._get_required_webhook_topics()
        result = {"created": [], "replaced": [], "reactivated": [], "removed": []}
        adapter = self._get_adapter(priority="catalog")
        if not adapter.manages_webhook_subscriptions:
            return result
        address = self._get_webhook_address()
        route = _url_path(address)
        ours = [
            s
            for s in adapter.list_webhook_subscriptions()
            if _url_path(s["address"]) == route
        ]
        for topic in topics:
            mine = [s for s in ours if s["topic"] == topic]
            self._heal_webhook_subscription(adapter, topic, address, mine, result)
        for subscription in ours:
            if subscription["topic"] not in topics:
                adapter.delete_webhook_subscription(subscription["id"])
                result["removed"].append(subscription["topic"])
        self._get_sync_status("webhooks").message = self.env._(
            "%(checked)s topics checked, %(created)s created, %(replaced)s misrouted "
            "replaced, %(reactivated)s re-activated, %(removed)s no longer needed "
            "removed",
            checked=len(topics),
            created=len(result["created"]),
            replaced=len(result["replaced"]),
            reactivated=len(result["reactivated"]),
            removed=len(result["removed"]),
        )
        return result

    def _heal_webhook_subscription(self, adapter, topic, address, mine, result):
        """Leave one active subscription of `topic` at `address`."""
        at_address = [s for s in mine if s["address"] == address]
        if any(s["active"] for s in at_address):
            return
        for subscription in mine:
            if subscription["address"] != address:
                adapter.delete_webhook_subscription(subscription["id"])
                result["replaced"].append(topic)
        if at_address:
            adapter.reactivate_webhook_subscription(at_address[0]["id"])
            result["reactivated"].append(topic)
        else:
            adapter.create_webhook_subscription(topic, address)
            result["created"].append(topic)

    def _enqueue_reconciliation(self, **continuation):
        """Enqueue a pull; `continuation` (since, until, cursor) resumes one."""
        self.ensure_one()
        return self.with_delay(
            max_retries=JOB_MAX_RETRIES,
            channel=JOB_CHANNEL_ORDERS,
            priority=RECONCILE_PRIORITY,
            identity_key=self._identity_key("reconcile"),
            description=f"Reconcile orders of {self.name}",
        )._job_reconcile_orders(**continuation)

    def _reconcile_orders(self, since, until, cursor=None, max_pages=None):
        """Enqueue the import of each order the channel changed since `since`
        (one job per order), at most `max_pages` (default
        `RECONCILE_PAGES_PER_JOB`) pages from `cursor`; report gaps.

        :return: (orders seen, orders whose change no webhook brought, the
            cursor to go on from, None when every page was read)
        """
        adapter = self._get_adapter(priority="orders")
        Binding = self.env["channel.order.binding"]
        seen, missing = 0, []
        for _page in range(max_pages or RECONCILE_PAGES_PER_JOB):
            orders, cursor = adapter.fetch_orders_updated_since(
                since.replace(tzinfo=timezone.utc), cursor
            )
            orders = self._outside_webhook_grace(orders, until)
            for order in orders:
                seen += 1
                # A channel without webhooks is polled: nothing went missing.
                if self.supports_webhooks and not self._had_delivery_for(order, since):
                    missing.append(order.name)
            waiting = self._refs_waiting_in_inbox(orders, adapter)
            Binding._enqueue_pulled_orders(
                self,
                [order for order in orders if order.external_ref not in waiting],
                RECONCILE_PRIORITY,
            )
            if not cursor:
                break
        if missing:
            self._record_delivery_gap(seen, missing, since, until)
        return seen, missing, cursor

    def _outside_webhook_grace(self, orders, until):
        """`orders` but those changed within `reconcile_grace_minutes` before
        the pull began: their webhook is probably on its way, and the next
        pull, which looks back as far (`_get_pull_overlap`), checks them."""
        if not self.supports_webhooks or self.reconcile_grace_minutes <= 0:
            return orders
        recent = until - timedelta(minutes=self.reconcile_grace_minutes)
        return [
            order
            for order in orders
            if not order.updated_at or order.updated_at.replace(tzinfo=None) < recent
        ]

    def _get_pull_overlap(self):
        """How far before the last pull the next one looks back: at least
        `PULL_OVERLAP`, and the grace left to webhooks."""
        return max(PULL_OVERLAP, timedelta(minutes=self.reconcile_grace_minutes))

    def _refs_waiting_in_inbox(self, orders, adapter):
        """Ids of `orders` with a delivery of the whole order still waiting
        in the inbox (received or queued): its own job imports the order, so
        a pull during a burst of webhooks does not read and import it a
        second time (the next pull checks again what was applied; a job that
        died is requeued by the stuck-event cron). Other deliveries about the
        order (a refund, a dispute) do not count: they wait for the order,
        which the pull must then bring."""
        refs = [order.external_ref for order in orders if order.external_ref]
        if not refs:
            return set()
        events = self.env["channel.event"].search(
            [
                ("backend_id", "=", self.id),
                ("resource_ref", "in", refs),
                ("state", "in", ("received", "queued")),
                ("topic", "in", sorted(adapter.order_payload_topics)),
            ]
        )
        return set(events.mapped("resource_ref"))

    def _had_delivery_for(self, order, since):
        return bool(
            self.env["channel.event"].search_count(
                [
                    ("backend_id", "=", self.id),
                    ("resource_ref", "=", order.external_ref),
                    ("received_at", ">=", since),
                    ("topic", "!=", ORDER_PULL_TOPIC),
                ],
                limit=1,
            )
        )

    def _record_delivery_gap(self, seen, missing, since, until):
        self.env["channel.exception"]._record(
            "delivery_gap",
            self.env._(
                "%(missing)s of the %(seen)s orders the channel changed between "
                "%(since)s and %(until)s reached Odoo only through the "
                "reconciliation pull: webhooks went missing.",
                missing=len(missing),
                seen=seen,
                since=since,
                until=until,
            ),
            backend=self,
            key=f"gap:{until.date()}",
            detail=", ".join(missing[:200]),
        )

    # === JOBS ===

    def _job_reconcile_orders(self, since=None, until=None, cursor=None):
        """Job (orders channel, low priority): pull what changed since the
        last pull and enqueue its import; missed webhooks are repaired here. A pull
        longer than `RECONCILE_PAGES_PER_JOB` pages goes on in a next job
        (given `since`, `until` and the channel's `cursor`)."""
        self.ensure_one()
        if not (self.active and self.import_orders and self.state == "connected"):
            return "skipped: order import is off or the backend is not connected"
        if not cursor:
            until = fields.Datetime.now()
            since = (
                self.last_reconciliation
                or until - timedelta(minutes=self.reconcile_interval)
            ) - self._get_pull_overlap()
        with self._map_channel_errors():
            seen, missing, cursor = self._reconcile_orders(since, until, cursor)
        if cursor:
            self._enqueue_reconciliation(since=since, until=until, cursor=cursor)
            return f"{seen} orders pulled, {len(missing)} without webhook; more next"
        self._get_sync_status("order_pull").last_run_at = until
        self._mark_flow_success("orders")
        return f"{seen} orders pulled, {len(missing)} without webhook"

    def _job_sync_webhooks(self):
        """Job (catalogue channel): check and heal the webhook subscriptions."""
        self.ensure_one()
        if not self.active or self.state != "connected" or not self.supports_webhooks:
            return "skipped"
        with self._map_channel_errors():
            return self._sync_webhook_subscriptions()

    @api.model
    def _cron_reconcile_orders(self):
        """Cron: enqueue a pull for each backend whose interval has passed."""
        now = fields.Datetime.now()
        backends = self.search(
            [("import_orders", "=", True), ("state", "=", "connected")]
        )
        for backend in backends.filtered("supports_order_pull"):
            last = backend.last_reconciliation
            if not last or now - last >= timedelta(minutes=backend.reconcile_interval):
                backend._enqueue_reconciliation()

    @api.model
    def _cron_sync_webhooks(self):
        """Cron: enqueue a subscription check of every connected backend."""
        backends = self.search([("state", "=", "connected")])
        for backend in backends.filtered("supports_webhooks"):
            backend._enqueue_webhook_sync()

    def _enqueue_webhook_sync(self):
        """Enqueue a check of the subscriptions (one waiting per backend)."""
        self.ensure_one()
        return self.with_delay(
            max_retries=JOB_MAX_RETRIES,
            channel=JOB_CHANNEL_CATALOG,
            identity_key=self._identity_key("sync_webhooks"),
        )._job_sync_webhooks()


def _url_path(address):
    """The path of a subscription's address, without a trailing slash."""
    return urlsplit(address or "").path.rstrip("/")
