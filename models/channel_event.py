import base64
import hashlib
import json
import re
from datetime import timedelta

import psycopg2
from psycopg2 import IntegrityError

from odoo import SUPERUSER_ID, api, fields, models, sql_db
from odoo.exceptions import AccessError, UserError
from odoo.tools import mute_logger

from ..adapters.exceptions import (
    ChannelPayloadError,
    ChannelSignatureError,
)
from ..adapters.redaction import get_logger
from ..adapters.webhooks import (
    FLOW_APP,
    FLOW_CATALOG,
    FLOW_ORDERS,
    FLOW_PRIVACY,
    FLOW_STOCK,
    MAX_TOPIC_LENGTH,
    PRIVACY_CUSTOMER_REDACT,
    PRIVACY_SHOP_REDACT,
    check_text,
    header,
    load_json_object,
    shorten,
)
from ..const import (
    DEFAULT_WEBHOOK_MAX_BYTES,
    DONE,
    DUPLICATE,
    FAILED,
    IGNORED,
    JOB_CHANNEL_CATALOG,
    JOB_CHANNEL_ORDERS,
    JOB_CHANNEL_STOCK,
    JOB_MAX_RETRIES,
    ORDER_PULL_TOPIC,
    PING_MAX_BYTES,
    WEBHOOK_MAX_BYTES_PARAM,
    channel_identity_key,
)
from ..sql import queries
from .channel_connector_fields_mixin import CONNECTOR_FIELDS_MIXIN
from .channel_exception import OPEN_STATES, SETTLED_EVENT_STATES, failed_job_type
from .queue_job import INSERT_JOB_ROWS, INSERT_JOB_ROWS_SENTINEL

_logger = get_logger(__name__)

REDACTED_BODY = b'{"redacted": true}'
REDACTED_PAYLOAD = {"redacted": True}
# System parameter: days a payload correction (its audit) is kept, with its event.
CORRECTION_RETENTION_PARAM = "channel_connector.correction_retention_days"
DEFAULT_CORRECTION_RETENTION_DAYS = 365
# How often the open audit of bad signatures of a backend is updated.
REJECTED_AUDIT_INTERVAL = timedelta(minutes=1)
# What was received and the audited correction: stored by trusted code only
# (the receiving request, the correction wizard, a redaction), never over RPC.
PAYLOAD_FIELDS = frozenset({"raw_body", "headers", "corrected_payload"})
# ... and what identifies an event, fixed once it is stored.
PROTECTED_FIELDS = PAYLOAD_FIELDS | {
    "backend_id",
    "company_id",
    "provider",
    "dedupe_key",
    "topic",
    "flow",
}
# Job channel of each flow's events; other flows' events run on the webhooks
# channel (the job function's default).
FLOW_JOB_CHANNELS = {
    FLOW_ORDERS: JOB_CHANNEL_ORDERS,
    FLOW_STOCK: JOB_CHANNEL_STOCK,
    FLOW_CATALOG: JOB_CHANNEL_CATALOG,
}
# Seconds a new event's job waits before it runs, by flow: the channel sends a
# stock report for each level it changes (our own exports included), in bursts
# while orders arrive, and the reports of a backend join the job still waiting
# (`channel_event_coalesce`); so a few seconds gather a burst into one job
# instead of a job for each report. What a report says is news only for the
# drift check; nothing waits for it.
FLOW_JOB_DELAYS = {FLOW_STOCK: 10}


class ChannelEvent(models.Model):
    """The inbox of channel deliveries: every webhook, stored before it is acked.

    A delivery is verified, stored byte-exact and its processing job enqueued in
    the request's transaction, so the channel's 200 means "durably ours".
    `(backend_id, dedupe_key)` is unique: a redelivery, even a concurrent one,
    only counts a prevented duplicate on the original event.
    """

    _name = "channel.event"
    _description = "Channel Event"
    _inherit = [CONNECTOR_FIELDS_MIXIN]
    _order = "received_at desc, id desc"
    _rec_name = "topic"

    # === FIELDS ===

    # No index of its own on backend_id or company_id: the unique
    # (backend_id, dedupe_key) index serves backend lookups, and every index
    # is paid for by each delivery's insert.
    backend_id = fields.Many2one(
        "channel.backend", required=True, ondelete="cascade", readonly=True
    )
    provider = fields.Selection(related="backend_id.provider", store=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    topic = fields.Char(required=True, readonly=True, index=True)
    flow = fields.Char(readonly=True, help="Flow the topic belongs to; empty if none.")
    dedupe_key = fields.Char(required=True, readonly=True)
    delivery_id = fields.Char(readonly=True, help="The channel's id of this delivery.")
    resource_ref = fields.Char(
        string="Resource", readonly=True, index=True, help="Channel id of the resource."
    )
    channel_timestamp = fields.Datetime(readonly=True)
    received_at = fields.Datetime(
        required=True, readonly=True, default=fields.Datetime.now
    )
    # Not prefetched: reading an event's state or topic need not load its body.
    raw_body = fields.Binary(
        attachment=False, readonly=True, copy=False, prefetch=False
    )
    raw_body_text = fields.Text(string="Raw payload", compute="_compute_raw_body_text")
    headers = fields.Json(readonly=True)
    state = fields.Selection(
        [
            ("received", "Received"),
            ("queued", "Queued"),
            (DONE, "Done"),
            (FAILED, "Failed"),
            (IGNORED, "Ignored"),
            (DUPLICATE, "Duplicate"),
        ],
        default="received",
        required=True,
        index=True,
        readonly=True,
    )
    attempts = fields.Integer(readonly=True)
    duplicates_prevented = fields.Integer(
        default=0,
        readonly=True,
        help="Redeliveries of this event that were not stored again.",
    )
    job_id = fields.Many2one(
        "queue.job", compute="_compute_job_id", help="The event's latest job."
    )
    queued_at = fields.Datetime(readonly=True)
    processed_at = fields.Datetime(readonly=True)
    error = fields.Text(readonly=True)
    corrected_payload = fields.Json(
        readonly=True,
        copy=False,
        help="Payload a manager corrected; processed instead of the raw body.",
    )
    correction_ids = fields.One2many("channel.event.correction", "event_id")
    backfill_id = fields.Many2one(
        "channel.backfill",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The backfill run that read this order (`orders/pull` events).",
    )
    res_model = fields.Char(string="Linked model", readonly=True)
    res_id = fields.Many2oneReference(
        model_field="res_model", string="Linked record", readonly=True
    )

    # === COMPUTE METHODS ===

    @api.depends("raw_body")
    def _compute_raw_body_text(self):
        for event in self:
            raw = event._get_raw_body()
            event.raw_body_text = raw.decode("utf-8", errors="replace")

    def _compute_job_id(self):
        latest = {}
        jobs = (
            self.env["queue.job"]
            .sudo()
            .search([("channel_event_id", "in", self.ids)], order="id")
        )
        for job in jobs:
            latest[job.channel_event_id.id] = job
        for event in self:
            event.job_id = latest.get(event.id)

    # === CONSTRAINT METHODS ===

    _dedupe_key_unique = models.UniqueIndex("(backend_id, dedupe_key)")

    # === CRUD METHODS ===

    @api.model_create_multi
    def create(self, vals_list):
        """Only trusted code stores a payload; see `PROTECTED_FIELDS`."""
        if not self.env.su:
            for vals in vals_list:
                self._check_writable(PAYLOAD_FIELDS.intersection(vals))
        return super().create(vals_list)

    def _get_refused_fields(self, field_names):
        """Override of `channel.connector.fields.mixin`: a payload changes by
        an audited correction only, what identifies an event never."""
        return PROTECTED_FIELDS.intersection(field_names)

    # === ACTION METHODS ===

    def action_replay(self):
        """Process the events again, except those done already."""
        return self._replay(force=False)

    def action_force_replay(self):
        """Process the events again, even those done already."""
        return self._replay(force=True)

    def _replay(self, force):
        """Enqueue the events again; channel users may, on events they read."""
        self._check_channel_user()
        replayable = self if force else self.filtered(lambda e: e.state != DONE)
        if not replayable:
            raise UserError(self.env._("These events were processed already."))
        replayable = replayable.filtered(lambda e: e._get_flow_handler())
        if not replayable:
            raise UserError(
                self.env._("No flow handles these events' topics: nothing to replay.")
            )
        replayable._enqueue()
        return True

    def _check_channel_user(self, group="channel_connector.group_channel_user"):
        """Actions on events need the group and read access to each event."""
        if not self.env.su and not self.env.user.has_group(group):
            raise AccessError(self.env._("You are not allowed to act on events."))
        self.check_access("read")

    # === BUSINESS METHODS ===

    @api.model
    def _receive_delivery(self, backend, headers, body, peer=None):
        """Verify, store and enqueue one webhook delivery.

        :param peer: the address the request came from (for the audit)
        :return: (HTTP status, short text) for the controller to answer

        Reads nothing of the backend but its cached receiver values.
        """
        receiver = backend._get_webhook_adapter(backend.id)
        if not receiver:
            return 404, "no such backend"
        adapter, provider, company_id = receiver
        if len(body) <= PING_MAX_BYTES and adapter.is_webhook_ping(headers, body):
            return 200, "pong"
        if len(body) > self._get_max_body_bytes():
            return 413, "payload too large"
        try:
            adapter.verify_webhook(headers, body)
        except ChannelSignatureError as exc:
            self._record_rejected_delivery(backend, headers, exc, peer)
            return 401, "invalid signature"
        try:
            delivery = adapter.parse_webhook(headers, body)
        except ChannelPayloadError as exc:
            self._store_malformed(backend, adapter, headers, body, exc)
            return 400, str(exc)
        event, state = self._store(
            backend,
            delivery,
            body,
            provider,
            company_id,
            join=self._get_join_target(adapter, delivery),
        )
        if state == "queued":
            event._enqueue(
                first=True,
                topic=delivery.topic,
                flow=delivery.flow,
                company=self.env["res.company"].browse(company_id),
            )
        return 200, "ok"

    @api.model
    def _begin_read_committed(self):
        """Go on in a READ COMMITTED transaction (the webhook request does,
        before `_receive_delivery`).

        Under Odoo's REPEATABLE READ, a twin delivery committed after this
        request's snapshot makes the insert fail to serialize, and Odoo
        replays the whole request after a sleep: a burst of copies of one
        delivery (or of forged ones, audited on one row) would cost seconds
        each. In READ COMMITTED the insert waits for the twin and then counts
        a duplicate. The request has only read so far, so ending its
        transaction here loses nothing. A test cursor
        (HttpCase) cannot end its transaction: it keeps its isolation.
        """
        if not isinstance(self.env.cr, sql_db.Cursor):
            return  # a test cursor: its transaction is the test's
        self.env.cr.commit()  # pylint: disable=invalid-commit
        queries.set_read_committed(self.env.cr)

    @api.model
    def _get_max_body_bytes(self):
        """The body limit: the system parameter, else the default (also when
        the parameter is not a positive whole number)."""
        value = (
            self.env["ir.config_parameter"].sudo().get_param(WEBHOOK_MAX_BYTES_PARAM)
        )
        try:
            limit = int(value) if value else DEFAULT_WEBHOOK_MAX_BYTES
        except ValueError:
            limit = 0
        if limit <= 0:
            _logger.warning(
                "Ignored the system parameter %s=%r: not a positive whole number.",
                WEBHOOK_MAX_BYTES_PARAM,
                value,
            )
            return DEFAULT_WEBHOOK_MAX_BYTES
        return limit

    @api.model
    def _store(self, backend, delivery, body, provider, company_id, *, join=None):
        """Insert the event, or count a duplicate if it exists (race-safe).

        :param join: the waiting job it may join (`_get_join_target`)
        :return: (event, the state it was stored in, "joined" when a waiting
            job takes it along, or "duplicate")

        This is the hot path of every delivery, so it is one
        `INSERT ... ON CONFLICT DO NOTHING` on the unique (backend, key) index
        instead of an ORM create in a savepoint: the database alone decides
        which of two concurrent twins is first, in a single round trip.
        """
        state = self._initial_state(delivery)
        values = {
            "backend": backend.id,
            "provider": provider,
            "company": company_id,
            "topic": delivery.topic,
            "flow": delivery.flow,
            "key": delivery.dedupe_key,
            "delivery": delivery.delivery_id,
            "resource": delivery.resource_ref,
            "timestamp": _naive_utc(delivery.channel_timestamp) or None,
            "now": fields.Datetime.now(),
            # Odoo keeps non-attachment Binary fields base64-encoded.
            "body": psycopg2.Binary(base64.b64encode(body)),
            "headers": json.dumps(delivery.headers),
            "state": state["state"],
            "queued_at": state.get("queued_at"),
            "error": state.get("error"),
            "uid": self.env.uid,
        }
        joined_id = None
        if join and state["state"] == "queued":
            self.flush_model(["state", "joined_event_id"])
            event_id, joined_id = queries.insert_joining_event(
                self.env.cr, values, join
            )
        else:
            event_id = queries.insert_event(self.env.cr, values)
        if event_id:
            return self.browse(event_id), "joined" if joined_id else state["state"]
        return self._count_duplicate(backend, delivery.dedupe_key), DUPLICATE

    @api.model
    def _count_duplicate(self, backend, dedupe_key):
        event_id = queries.count_duplicate(self.env.cr, backend.id, dedupe_key)
        # Under REPEATABLE READ a twin committed after this transaction's
        # snapshot makes the INSERT fail to serialize and Odoo replays the
        # request, so the twin is visible here; only a purge in between
        # leaves no row, and the delivery is a duplicate all the same.
        event = self.browse(event_id or ())
        event.invalidate_recordset(["duplicates_prevented"])
        return event

    @api.model
    def _store_malformed(self, backend, adapter, headers, body, error):
        """Keep a signed but unusable body as a failed event with an exception."""
        digest = hashlib.sha256(body).hexdigest()
        topic = self._malformed_topic(headers)
        values = {
            "backend_id": backend.id,
            "topic": topic,
            "flow": adapter.topic_flow(topic) or False,
            "dedupe_key": f"malformed:{digest}",
            "raw_body": base64.b64encode(body),
            "state": FAILED,
            "error": str(error),
        }
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                event = self.create(values)
        except IntegrityError:
            return self._count_duplicate(backend, values["dedupe_key"])
        self.env["channel.exception"]._record(
            "validation",
            self.env._("A signed %(topic)s delivery could not be read.", topic=topic),
            backend=backend,
            detail=str(error),
            retry_target=event,
        )
        return event

    @api.model
    def _malformed_topic(self, headers):
        """The topic a malformed delivery claims, if it can be stored as one."""
        topic = next(
            (v for k, v in headers.items() if k.lower().endswith("-topic")), None
        )
        try:
            check_text("topic", topic, MAX_TOPIC_LENGTH)
        except ChannelPayloadError:
            return "unreadable"
        return topic or "unknown"

    @api.model
    def _record_rejected_delivery(self, backend, headers, error, peer=None):
        """Audit a bad signature without storing its payload.

        All rejected deliveries of a backend update one open exception, at
        most once per `REJECTED_AUDIT_INTERVAL`: a flood of forged requests
        must not queue up on that one row. Every rejection is logged. The
        peer address is the connection's; X-Forwarded-For is only what the
        sender (or a proxy) claims, kept beside it and escaped.
        """
        forwarded = header(headers, "X-Forwarded-For")
        source = f"peer {peer or 'unknown'}"
        if forwarded:
            source += f", X-Forwarded-For {shorten(forwarded, 100)}"
        _logger.warning(
            "Rejected a delivery for backend %s from %s: %s", backend.id, source, error
        )
        Exception_ = self.env["channel.exception"]
        recent = Exception_._find_open(
            backend,
            Exception_._make_fingerprint("rejected_delivery", "signature", None, ""),
        ).filtered(
            lambda e: e.last_seen > fields.Datetime.now() - REJECTED_AUDIT_INTERVAL
        )
        if recent:
            return
        Exception_._record(
            "rejected_delivery",
            self.env._("Webhook deliveries with an invalid signature were rejected."),
            backend=backend,
            detail=f"{error}; last source: {source}",
            key="signature",
        )

    @api.model
    def _initial_state(self, delivery):
        """Where a new event starts: ignored (no flow), queued, or received
        (its flow has no handler yet) - decided before the insert so that the
        request writes the row once."""
        if not delivery.flow:
            return {"state": IGNORED, "error": f"No flow handles {delivery.topic}"}
        if self.new(
            {"flow": delivery.flow, "topic": delivery.topic}
        )._get_flow_handler():
            return {"state": "queued", "queued_at": fields.Datetime.now()}
        return {"state": "received"}

    def _enqueue(self, first=False, topic=None, flow=None, company=None):
        """Enqueue each event's processing job on its flow's job channel;
        the jobs run as the superuser, whoever asked.

        A new event cannot have a job yet, so only replays pay for the
        identity-key lookup that keeps one pending job per event attempt.
        A new stock report's job waits `FLOW_JOB_DELAYS` seconds, so that the
        burst it belongs to joins it. The receiving request passes the
        `topic`, `flow` and `company` it just stored: that spares reading the
        row back. The job row carries the link to its event
        (`_job_store_values`): a new event is not written again.
        """
        for event in self:
            identity_key = (
                None
                if first
                else channel_identity_key("event", event.id, event.attempts)
            )
            event_flow = flow or event.flow
            (
                event.with_user(SUPERUSER_ID)
                # The job record needs no chatter entry or follower; its
                # company is the backend's (spares reading the user's); its
                # row is written with one INSERT (`queue.job.create`).
                .with_context(
                    tracking_disable=True,
                    allowed_company_ids=(company or event.company_id).ids,
                    **{INSERT_JOB_ROWS: INSERT_JOB_ROWS_SENTINEL},
                )
                .with_delay(
                    max_retries=JOB_MAX_RETRIES,
                    channel=FLOW_JOB_CHANNELS.get(event_flow),
                    # A replay runs at once: someone waits for it.
                    eta=FLOW_JOB_DELAYS.get(event_flow) if first else None,
                    identity_key=identity_key,
                    description=f"Process {topic or event.topic}",
                )
                ._job_process()
            )
            if not first:
                event.sudo().write(
                    {"state": "queued", "queued_at": fields.Datetime.now()}
                )

    def _get_flow_handler(self):
        """The method that applies an event of this flow, or None if none yet.

        Flows register by overriding this method (guarded on `self.flow`);
        an event whose flow has no handler stays `received` until one exists.
        """
        self.ensure_one()
        handlers = {
            FLOW_APP: self._process_app,
            FLOW_PRIVACY: self._process_privacy,
            FLOW_ORDERS: self._process_orders,
        }
        return handlers.get(self.flow)

    def action_edit_payload(self):
        """Open the dead-letter editor: correct the payload, see the diff."""
        self.ensure_one()
        wizard = self.env["channel.event.edit"].create(
            self.env["channel.event.edit"]._prepare_for(self)
        )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Correct payload"),
            "res_model": "channel.event.edit",
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    def _apply_correction(self, corrected):
        """Store a corrected payload and its audit record (managers only)."""
        self.ensure_one()
        self._check_channel_user("channel_connector.group_channel_manager")
        self.env["channel.event.correction"].sudo().create(
            {
                "event_id": self.id,
                "user_id": self.env.uid,
                "previous_payload": self.corrected_payload
                or self._get_original_payload(),
                "corrected_payload": corrected,
            }
        )
        values = {"corrected_payload": corrected}
        if not self.resource_ref and corrected.get("id") is not None:
            values["resource_ref"] = str(corrected["id"])
        self.sudo().write(values)

    def _get_payload(self):
        """The payload to process: the manager's correction, else the raw body."""
        self.ensure_one()
        if self.corrected_payload:
            return self.corrected_payload
        return load_json_object(self._get_raw_body())

    def _get_original_payload(self):
        """The payload as received; its text when it is not a JSON object."""
        self.ensure_one()
        try:
            return load_json_object(self._get_raw_body())
        except ChannelPayloadError:
            return self.raw_body_text

    def _get_raw_body(self):
        self.ensure_one()
        return base64.b64decode(self.raw_body) if self.raw_body else b""

    def _process(self):
        """Apply the event through its flow handler and record the outcome."""
        self.ensure_one()
        handler = self._get_flow_handler()
        self.attempts += 1
        try:
            with self.env.cr.savepoint():
                outcome = handler()
        # Data errors, the ORM's or the database's (a NOT NULL or CHECK
        # refused); a concurrent import's unique violation on our bindings
        # became a RetryableJobError and passes through.
        except (ChannelPayloadError, UserError, psycopg2.IntegrityError) as exc:
            self.write({"state": FAILED, "error": str(exc)})
            self.env["channel.exception"]._record(
                "validation",
                self.env._(
                    "The %(topic)s event for %(ref)s could not be applied: %(error)s",
                    topic=self.topic,
                    ref=self.resource_ref or "?",
                    error=exc,
                ),
                backend=self.backend_id,
                detail=str(exc),
                retry_target=self,
            )
            return False
        state = outcome or DONE
        if state == "received":
            # The handler left the event waiting and said why in its error.
            return False
        values = {"state": state, "processed_at": fields.Datetime.now()}
        if state != FAILED:
            values["error"] = False
        self.write(values)
        if state == FAILED:
            return False
        self.env["channel.exception"]._resolve(self.backend_id, retry_target=self)
        self.backend_id._mark_flow_success(self.flow)
        return True

    def _channel_retry(self):
        """Retry hook of `channel.exception`: process the event again now."""
        self.ensure_one()
        if not self._get_flow_handler():
            raise UserError(self.env._("No flow handles topic %s yet.", self.topic))
        return self._process()

    def _on_job_failed(self, exc_name=None, exc_message=None, **_values):
        """on_fail hook of event jobs: the event fails with a retryable exception."""
        for event in self:
            event.write({"state": FAILED, "error": exc_message or exc_name})
            self.env["channel.exception"]._record(
                failed_job_type(exc_name),
                self.env._(
                    "Processing the %(topic)s event for %(ref)s failed: %(error)s",
                    topic=event.topic,
                    ref=event.resource_ref or "?",
                    error=exc_message or exc_name,
                ),
                backend=event.backend_id,
                detail=exc_message,
                retry_target=event,
            )

    def _process_orders(self):
        """Import the order the event carries (or refresh it); a backend that
        is not live or does not import orders leaves it waiting (`received`)."""
        waiting = self._orders_waiting_reason()
        if waiting:
            self.write({"state": "received", "error": waiting})
            return "received"
        adapter = self.backend_id._get_adapter(priority="orders")
        if self.topic == ORDER_PULL_TOPIC:
            order = self._fetch_order(adapter, self.resource_ref)
        elif self.topic in adapter.dispute_topics:
            return self._process_dispute(adapter)
        elif not adapter.is_order_payload_topic(self.topic):
            return self._process_order_notice(adapter, self._get_payload())
        else:
            order = adapter.parse_order(self._get_payload())
            if self.backend_id._should_read_current_order(order, self.attempts > 1):
                order = self._fetch_order(adapter, order.external_ref)
        first_import = not self.env["channel.order.binding"].search_count(
            [
                ("backend_id", "=", self.backend_id.id),
                ("external_ref", "=", order.external_ref),
            ]
        )
        binding, outcome = self.env["channel.order.binding"]._import_order(
            self.backend_id, order, event=self
        )
        if binding.sale_order_id:
            self.write({"res_model": "sale.order", "res_id": binding.sale_order_id.id})
            outcome = (
                self._apply_order_shipped(
                    adapter, order, binding, first_import or bool(self.backfill_id)
                )
                or outcome
            )
        if outcome == FAILED:
            self.error = self.env._("Waiting for the exceptions of this order.")
        elif self.backend_id.supports_refund_import:
            if order.refund_refs:
                self.env["channel.refund.binding"]._sync_order_refunds(
                    binding, order.refund_refs, adapter
                )
        elif binding and order.financial_status in adapter.refunded_statuses:
            self._report_unimported_refund(binding, order)
        return outcome

    def _report_unimported_refund(self, binding, order):
        """A refunded order of a channel whose refunds are not imported: its
        revenue is booked whole, so finance must hear of it."""
        self.env["channel.exception"]._record(
            "refund_incomplete",
            self.env._(
                "Order %(name)s is %(status)s on the channel, but refunds of "
                "%(backend)s are not imported: book its credit note by hand.",
                name=order.name,
                status=order.financial_status,
                backend=self.backend_id.name,
            ),
            backend=self.backend_id,
            key=f"refunded:{order.external_ref}",
            documents=[binding.sale_order_id],
        )

    def _process_refund(self, adapter, notice):
        """Apply the refund a delivery announces, read from the channel; it
        waits (job retried) until its order is imported and confirmed."""
        backend = self.backend_id
        if not backend.supports_refund_import:
            return IGNORED
        if self.topic in adapter.refund_payload_topics:
            refund = adapter.parse_refund(self._get_payload())
        else:
            with backend._map_channel_errors():
                refund = adapter.fetch_refund(notice.refund_ref, notice.order_ref)
        binding, outcome = self.env["channel.refund.binding"]._apply_channel_refund(
            backend, refund
        )
        self.write({"res_model": binding._name, "res_id": binding.id})
        return outcome

    def _process_order_notice(self, adapter, payload):
        """An order topic that carries no order: a fulfilment made on the
        channel, an edit of one, or a refund."""
        shipment = adapter.parse_channel_fulfilment(self.topic, payload)
        if shipment:
            return self._process_channel_fulfilment(adapter, shipment)
        edit = adapter.parse_order_edit(self.topic, payload)
        if edit:
            binding, outcome = self.env["channel.order.binding"]._apply_channel_edit(
                self.backend_id, edit
            )
            if binding.sale_order_id:
                self.write(
                    {"res_model": "sale.order", "res_id": binding.sale_order_id.id}
                )
            return outcome
        return_ref = adapter.parse_return_notice(self.topic, payload)
        if return_ref:
            return self._process_return(adapter, return_ref)
        notice = adapter.parse_refund_notice(self.topic, payload)
        return self._process_refund(adapter, notice) if notice else IGNORED

    def _apply_order_shipped(self, adapter, order, binding, first_import):
        """An order the channel says shipped whole closes its open Odoo
        deliveries; FAILED when that is refused (an exception says why)."""
        shipment = adapter.order_shipped_on_channel(order, first_import)
        if not shipment or binding.sale_order_id.state != "sale":
            return None
        _sale_order, outcome = self.env["channel.fulfilment"]._apply_channel_shipment(
            self.backend_id, shipment, event=self, history=bool(self.backfill_id)
        )
        return FAILED if outcome == FAILED else None

    def _process_channel_fulfilment(self, adapter, shipment):
        """Close the Odoo delivery of an order shipped on the channel, read
        from the channel as it is now."""
        with self.backend_id._map_channel_errors():
            shipment = adapter.fetch_channel_fulfilment(shipment)
        sale_order, outcome = self.env["channel.fulfilment"]._apply_channel_shipment(
            self.backend_id, shipment, event=self
        )
        if sale_order:
            self.write({"res_model": "sale.order", "res_id": sale_order.id})
        return outcome

    def _process_return(self, adapter, return_ref):
        """Make or cancel the return picking of a return opened on the
        channel, read from the channel (it waits for its order)."""
        with self.backend_id._map_channel_errors():
            channel_return = adapter.fetch_return(return_ref)
        binding, outcome = self.env["channel.refund.binding"]._apply_channel_return(
            self.backend_id, channel_return
        )
        if binding:
            self.write({"res_model": binding._name, "res_id": binding.id})
        return outcome

    def _process_dispute(self, adapter):
        """Follow the payment dispute a delivery announces, read again from
        the channel when it can be (updates may arrive out of order)."""
        backend = self.backend_id
        dispute = adapter.parse_dispute(self.topic, self._get_payload())
        with backend._map_channel_errors():
            dispute = adapter.fetch_dispute(dispute.external_ref) or dispute
        record, outcome = self.env["channel.refund.binding"]._apply_channel_dispute(
            backend, dispute
        )
        if record:
            self.write({"res_model": record._name, "res_id": record.id})
        return outcome

    def _orders_waiting_reason(self):
        """Why the backend may not import this order now; None if it may."""
        backend = self.backend_id
        if not backend.import_orders:
            return self.env._(
                "Order import is switched off on %s: the order waits, not "
                "imported. Replay it once order import is on.",
                backend.name,
            )
        if not backend.active or backend.state != "connected":
            return self.env._(
                "%s is not connected: the order waits, not imported. Replay it "
                "once the backend is connected.",
                backend.name,
            )
        return None

    @api.model
    def _fetch_order(self, adapter, external_ref):
        """The order as the channel holds it now; a transient error retries."""
        with self.env["channel.backend"]._map_channel_errors():
            return adapter.fetch_order(external_ref)

    @api.model
    def _get_pull_event(self, backend, order, backfill=None):
        """The `orders/pull` event standing for an order a backfill or the
        reconciliation read from the channel: no body; its job reads the order
        from the channel and imports it, and it is the retry target of its
        exceptions. Queued again at each pull.

        :return: the event, or an empty recordset when a concurrent pull
            created it first (its import is queued already)
        """
        dedupe_key = f"pull:{order.external_ref}"
        event = self.search(
            [("backend_id", "=", backend.id), ("dedupe_key", "=", dedupe_key)]
        )
        values = {"state": "queued", "queued_at": fields.Datetime.now(), "error": False}
        if backfill:
            values["backfill_id"] = backfill.id
        if event:
            event.write(values)
            return event
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                return self.create(
                    {
                        **values,
                        "backend_id": backend.id,
                        "topic": ORDER_PULL_TOPIC,
                        "flow": FLOW_ORDERS,
                        "dedupe_key": dedupe_key,
                        "resource_ref": order.external_ref,
                        "channel_timestamp": _naive_utc(order.updated_at),
                    }
                )
        except IntegrityError:
            # A concurrent pull (the reconciliation while a backfill page
            # reads the same order) created the event and queued its import
            # in a transaction that committed after this one's snapshot:
            # that import is under way, there is nothing left to do here.
            return self.browse()

    def _enqueue_import(self, priority):
        """Enqueue the job importing the order of this `orders/pull` event:
        one per backend and order, so a pull meeting an order whose import
        still waits adds no second job."""
        self.ensure_one()
        return self.with_delay(
            max_retries=JOB_MAX_RETRIES,
            channel=JOB_CHANNEL_ORDERS,
            priority=priority,
            identity_key=self.backend_id._identity_key(
                "order_import", self.resource_ref
            ),
            description=f"Import order {self.resource_ref}",
        )._job_process()

    def _process_app(self):
        """App uninstalled: stop every flow of the backend, once the channel's
        API confirms the token is dead (the topic header is not signed)."""
        adapter = self.backend_id._get_adapter(priority="orders")
        if not adapter.is_app_uninstall(self.topic):
            return IGNORED
        with self.backend_id._map_channel_errors():
            confirmed = adapter.confirms_app_uninstalled()
        if not confirmed:
            self.env["channel.exception"]._record(
                "rejected_delivery",
                self.env._(
                    "An app uninstall delivery (%s) was not acted on: the channel "
                    "still accepts our credentials.",
                    self.topic,
                ),
                backend=self.backend_id,
                key="app_uninstalled",
            )
            return IGNORED
        self.backend_id.write(
            {
                "state": "error",
                "state_message": self.env._(
                    "The channel app was uninstalled: flows are paused until it is "
                    "reinstalled and the connection tested again."
                ),
            }
        )
        return DONE

    def _process_privacy(self):
        """A channel's privacy request (`webhooks.PrivacyRequest`): erase or
        report customer data.

        A redaction erases every stored copy of the customer's data: the
        matching events' bodies, their corrections, malformed deliveries that
        mention the customer or the orders, and this request's own body.
        """
        request = self.backend_id._get_adapter(priority="orders").parse_privacy_request(
            self.topic, self._get_payload()
        )
        if request is None:
            return IGNORED
        if request.kind == PRIVACY_SHOP_REDACT:
            self.search([("backend_id", "=", self.backend_id.id)])._redact()
            return DONE
        if request.kind == PRIVACY_CUSTOMER_REDACT:
            refs = [*request.order_refs, request.customer_ref]
            events = self.search(
                [
                    ("backend_id", "=", self.backend_id.id),
                    ("resource_ref", "in", [ref for ref in refs if ref]),
                ]
            )
            events |= self._malformed_mentioning(refs, request.email)
            (events | self)._redact()
            return DONE
        self.env["channel.exception"]._record(
            "validation",
            self.env._(
                "The shop owner asked for the data held on customer %s: send it "
                "to them within 30 days.",
                request.customer_ref,
            ),
            backend=self.backend_id,
            key=f"data_request:{request.customer_ref}",
            severity="warning",
        )
        return DONE

    def _malformed_mentioning(self, refs, email, batch_size=1000):
        """Malformed deliveries of this backend whose body names one of the
        resources (as a whole number) or the email (any case): they have no
        resource. Matched in PostgreSQL, `batch_size` events per query."""
        patterns = [
            rf"(?<![0-9]){self._sql_regex_literal(ref)}(?![0-9])" for ref in refs if ref
        ]
        if email:
            # Bodies are compared as LATIN1 text: every byte is one character.
            patterns.append(self._sql_regex_literal(email.encode().decode("latin-1")))
        if not patterns:
            return self.browse()
        self.env.flush_all()
        found, last_id = [], 0
        while True:
            batch = self._malformed_matching(last_id, "|".join(patterns), batch_size)
            found += [event_id for event_id, matches in batch if matches]
            if len(batch) < batch_size:
                return self.browse(found)
            last_id = batch[-1][0]

    def _malformed_matching(self, after_id, pattern, limit):
        """[(id, whether its body matches `pattern`)] of the next `limit`
        malformed events of this backend after `after_id`. `raw_body` holds
        the body base64-encoded (`_store_malformed`), decoded here."""
        return queries.malformed_matching(
            self.env.cr, self.backend_id.id, pattern, after_id, limit
        )

    @staticmethod
    def _sql_regex_literal(text):
        """`text` as a literal in a PostgreSQL regular expression."""
        return re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\1", text)

    def _redact(self):
        """Replace stored payloads and corrections by a marker; headers lose
        the shop domain."""
        self.write(
            {
                "raw_body": base64.b64encode(REDACTED_BODY),
                "headers": {},
                "corrected_payload": False,
            }
        )
        self.correction_ids.write(
            {
                "previous_payload": REDACTED_PAYLOAD,
                "corrected_payload": REDACTED_PAYLOAD,
            }
        )

    # === JOBS ===

    def _job_store_values(self, job):
        """Override of `queue_job`: link each job of an event to it.

        queue_job merges these values into the job row it inserts (and into
        every later write of it, which `queue.job.write` ignores).
        """
        values = super()._job_store_values(job)
        if len(self) == 1:
            values["channel_event_id"] = self.id
        return values

    def _job_process(self):
        """Job (the flow's channel, see `FLOW_JOB_CHANNELS`): apply the event;
        idempotent, so a replay is safe."""
        self.ensure_one()
        if self.state == DONE:
            return "skipped: already done"
        if not self._get_flow_handler():
            # Back to waiting for a handler: left `queued`, the stuck-event
            # cron would requeue it forever.
            self.write({"state": "received", "error": f"No handler for {self.topic}"})
            return f"skipped: no handler for {self.topic}"
        return DONE if self._process() else FAILED

    @api.model
    def _cron_requeue_stuck(self, minutes=30, batch_size=500):
        """Cron: re-enqueue events whose job vanished or died while queued.

        An event with any job still to run is not stuck.
        Bounded work: at most `batch_size` events per run, oldest first; when
        more remain the cron triggers itself again.
        """
        stuck = self.browse(self._get_stuck_ids(minutes, batch_size))
        stuck._enqueue()
        if len(stuck) == batch_size:
            self.env.ref(
                "channel_connector.ir_cron_channel_requeue_stuck_events"
            )._trigger()
        return len(stuck)

    @api.model
    def _get_stuck_ids(self, minutes, limit):
        """Ids of at most `limit` events queued over `minutes` ago with no job
        still to run, oldest first (the filter in SQL: a backlog of events
        still waiting never hides the stuck ones behind it)."""
        self.env.flush_all()
        return queries.stuck_event_ids(
            self.env.cr,
            fields.Datetime.now() - timedelta(minutes=minutes),
            ("wait_dependencies", "pending", "enqueued", "started"),
            limit,
        )

    @api.model
    def _cron_purge(self, batch_size=1000, max_batches=10):
        """Cron: delete events older than their backend's retention
        (`channel.backend.event_retention_days`), see `_get_purgeable_ids`.

        Bounded work: `batch_size` ids per unlink, at most `max_batches` per
        run; when more remain the cron triggers itself again.

        :return: how many events were deleted
        """
        self._report_stale_received()
        purged = 0
        for _batch in range(max_batches):
            ids = self._get_purgeable_ids(batch_size)
            self.browse(ids).unlink()
            purged += len(ids)
            if len(ids) < batch_size:
                return purged
        self.env.ref("channel_connector.ir_cron_channel_purge_events")._trigger()
        return purged

    @api.model
    def _get_purgeable_ids(self, limit):
        """Ids of at most `limit` events past retention: processed ones; failed
        ones whose exceptions are all closed; received ones no flow handles.

        An event with a correction younger than the corrections' retention
        (`channel_connector.correction_retention_days`) is kept: its audit
        trail goes with it, so not before that. Queued events are kept.
        """
        self.env.flush_all()
        now = fields.Datetime.now()
        return queries.purgeable_event_ids(
            self.env.cr,
            now=now,
            settled=SETTLED_EVENT_STATES,
            open_states=OPEN_STATES,
            unhandled=self._get_unhandled_received_flows(),
            kept_since=now - timedelta(days=self._get_correction_retention_days()),
            limit=limit,
        )

    @api.model
    def _get_correction_retention_days(self):
        value = (
            self.env["ir.config_parameter"].sudo().get_param(CORRECTION_RETENTION_PARAM)
        )
        return int(value) if value else DEFAULT_CORRECTION_RETENTION_DAYS

    @api.model
    def _get_stale_received_flows(self):
        """Flows ('' for none) of the `received` events past retention."""
        self.env.flush_all()
        return queries.stale_received_flows(self.env.cr, fields.Datetime.now())

    @api.model
    def _get_unhandled_received_flows(self):
        """Stale `received` flows no handler processes: nothing will, purge."""
        return [
            flow
            for flow in self._get_stale_received_flows()
            if not flow or not self.new({"flow": flow})._get_flow_handler()
        ]

    @api.model
    def _report_stale_received(self):
        """One exception per backend whose events a flow handles but still
        wait (`received`) past retention: kept, and someone is told."""
        handled = set(self._get_stale_received_flows()) - set(
            self._get_unhandled_received_flows()
        )
        if not handled:
            return
        stale_by_backend = {}
        stale = self.search([("state", "=", "received"), ("flow", "in", list(handled))])
        now = fields.Datetime.now()
        for event in stale:
            retention = timedelta(days=event.backend_id.event_retention_days)
            if event.received_at < now - retention:
                stale_by_backend.setdefault(event.backend_id, []).append(event)
        for backend, events in stale_by_backend.items():
            self.env["channel.exception"]._record(
                "validation",
                self.env._(
                    "%(count)s events of %(backend)s wait unprocessed past their "
                    "retention: they are kept. Replay them, or see their error.",
                    count=len(events),
                    backend=backend.name,
                ),
                backend=backend,
                key="stale_received",
                severity="warning",
            )


def _naive_utc(moment):
    """Odoo stores naive UTC datetimes."""
    return moment.replace(tzinfo=None) if moment else False
