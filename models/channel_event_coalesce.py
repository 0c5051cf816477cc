from datetime import datetime

import psycopg2

from odoo import api, fields, models

from odoo.addons.queue_job.exception import RetryableJobError

from ..adapters.exceptions import ChannelPayloadError
from ..adapters.webhooks import FLOW_ORDERS, FLOW_STOCK
from ..const import FAILED, ORDER_PULL_TOPIC
from ..sql import queries
from .channel_exception import SETTLED_EVENT_STATES

# Events one stock job applies at most; the rest go on in a next job.
STOCK_JOIN_BATCH = 200
# States of an order event that still follows the event applied in its place.
FOLLOWING_STATES = ("queued", "received", FAILED)


class ChannelEvent(models.Model):
    """Coalescing: a delivery whose work a job still waiting will do joins
    that job instead of queueing one of its own (docs/webhooks.rst,
    *Coalescing*).

    - A whole order (orders/create, orders/paid, ...) joins the queued import
      of the same order; that job applies the newest payload (or reads the
      order again, for an `orders/pull`) and the others follow its outcome.
    - A stock report joins the backend's queued stock job, which applies every
      waiting report in channel order.
    """

    _inherit = "channel.event"

    # === FIELDS ===

    joined_event_id = fields.Many2one(
        "channel.event",
        string="Processed with",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The event whose job took this delivery along. For an order, "
        "the newest delivery of it, applied in this one's place.",
    )

    # === CONSTRAINT METHODS ===

    # The join's lookup (`queries.insert_joining_event`) in the waiting events
    # only: an index entry for a new delivery, none once it is processed.
    _queued_heads_index = models.Index(
        "(backend_id, flow, resource_ref) "
        "WHERE state = 'queued' AND joined_event_id IS NULL"
    )

    # === BUSINESS METHODS ===

    @api.model
    def _get_join_target(self, adapter, delivery):
        """Which waiting job may take a new delivery along
        (`queries.insert_joining_event`), None: it gets a job of its own.

        A stock report joins any stock job of the backend; a whole order the
        import of the same order, queued for a delivery or a pull.
        """
        if delivery.flow == FLOW_STOCK:
            return {"flow": FLOW_STOCK}
        if (
            delivery.flow == FLOW_ORDERS
            and delivery.resource_ref
            and adapter.is_order_payload_topic(delivery.topic)
        ):
            topics = {*adapter.order_payload_topics, ORDER_PULL_TOPIC}
            return {
                "flow": FLOW_ORDERS,
                "resource": delivery.resource_ref,
                "topics": sorted(topics),
            }
        return None

    def _enqueue(self, first=False, topic=None, flow=None, company=None):
        """Override of `channel_connector`: an event queued again (replay,
        stuck) has a job of its own, it no longer waits for another's."""
        if not first:
            self.filtered("joined_event_id").sudo().write({"joined_event_id": False})
        return super()._enqueue(first=first, topic=topic, flow=flow, company=company)

    def _lock_joined(self):
        """Lock this event, which deliveries join, for the rest of the job.

        A delivery that joined it after this transaction's snapshot cannot be
        seen here: locking then fails to serialize, and the job runs again
        at once (uncounted) in a transaction that sees it.
        """
        try:
            with self.env.cr.savepoint(flush=False):
                queries.lock_event(self.env.cr, self.id)
        except psycopg2.errors.SerializationFailure as exc:
            raise RetryableJobError(
                f"Event {self.id} changed (a delivery joined it) as its job "
                "started: the job runs again to see it.",
                seconds=1,
                ignore_retry=True,
            ) from exc

    def _get_joined(self, states=("queued",)):
        """The events that joined this one, oldest in channel order first."""
        joined = self.search(
            [("joined_event_id", "=", self.id), ("state", "in", list(states))]
        )
        return joined.sorted(_channel_order)

    def _follow(self, applied):
        """These order events end as `applied`, whose payload stood for
        theirs; an exception recorded on one of them is settled with it."""
        if not self:
            return
        values = {
            "state": applied.state,
            "error": applied.error,
            "joined_event_id": applied.id,
            "processed_at": applied.processed_at or fields.Datetime.now(),
        }
        if applied.res_model:
            values.update(res_model=applied.res_model, res_id=applied.res_id)
        settled = applied.state in SETTLED_EVENT_STATES
        had_failed = self.filtered(lambda e: e.state == FAILED)
        self.write(values)
        if settled:
            for event in had_failed:
                self.env["channel.exception"]._resolve(
                    event.backend_id, retry_target=event
                )

    # === JOBS ===

    def _job_process(self):
        """Override of `channel_connector`: take the events that joined this
        one along (see the class docstring). Of an order, the newest payload
        is applied (an `orders/pull` reads the order as it is now, newer than
        any payload that joined it); the other events follow its outcome."""
        self.ensure_one()
        # First of all: the sooner after the snapshot, the rarer a join in
        # between makes the job run again.
        self._lock_joined()
        if self.flow not in (FLOW_ORDERS, FLOW_STOCK):
            return super()._job_process()
        if self.flow == FLOW_STOCK:
            return self._process_joined_stock()
        applied, followers = self._get_order_group()
        if not followers:
            return super()._job_process()
        followers.write({"joined_event_id": applied.id})
        applied.joined_event_id = False
        result = super(ChannelEvent, applied)._job_process()
        followers._follow(applied)
        count = len(followers) + 1
        return f"{result}: event {applied.id} applied for {count} deliveries"

    def _get_order_group(self):
        """(the event to apply, the events that follow it) of this order
        event and those that joined it."""
        joined = self._get_joined(FOLLOWING_STATES)
        if not joined:
            return self, joined
        group = joined | self.filtered(lambda e: e.state not in SETTLED_EVENT_STATES)
        pulls = group.filtered(lambda e: e.topic == ORDER_PULL_TOPIC)
        applied = pulls[:1] or max(group, key=group._order_version_key())
        return applied, group - applied

    def _order_version_key(self):
        """Sort key of these order events, newest last: the order's own
        `updated_at` in the payload (channels stamp deliveries in whole
        seconds, two updates within one share it), then the channel's time of
        the delivery, then its arrival. An unreadable payload is the oldest:
        its own Retry or replay reports it."""
        adapter = self.backend_id[:1]._get_adapter(priority="orders")
        versions = {}
        for event in self:
            try:
                updated_at = adapter.parse_order(event._get_payload()).updated_at
            except ChannelPayloadError:
                updated_at = None
            versions[event.id] = updated_at and updated_at.replace(tzinfo=None)

        def key(event):
            return (versions[event.id] or datetime.min, *_channel_order(event))

        return key

    def _process_joined_stock(self):
        """Apply this report and the ones that joined it, in channel order, at
        most `STOCK_JOIN_BATCH`; the rest join a next job."""
        joined = self._get_joined()
        group = (self.filtered(lambda e: e.state == "queued") | joined).sorted(
            _channel_order
        )
        batch, rest = group[:STOCK_JOIN_BATCH], group[STOCK_JOIN_BATCH:]
        applied = 0
        for event in batch:
            applied += bool(event._process())
        if rest:
            rest[1:].write({"joined_event_id": rest[0].id})
            rest[0]._enqueue()
        if not group:
            return "skipped: already done"
        return f"{applied} of {len(batch)} stock reports applied, {len(rest)} next"

    def _channel_retry(self):
        """Override of `channel_connector`: the order events that followed
        this one follow it again."""
        result = super()._channel_retry()
        if self.flow == FLOW_ORDERS:
            self._get_joined(FOLLOWING_STATES)._follow(self)
        return result

    def _on_job_failed(self, exc_name=None, exc_message=None, **values):
        """Override of `channel_connector`: the events that joined a failed job
        get jobs of their own, nothing waits for a job that will not run."""
        result = super()._on_job_failed(
            exc_name=exc_name, exc_message=exc_message, **values
        )
        for event in self:
            event._get_joined()._enqueue()
        return result


def _channel_order(event):
    """Sort key: the channel's time of the event, then its arrival."""
    return (event.channel_timestamp or datetime.min, event.id)
