import hashlib
from datetime import timedelta

from psycopg2 import IntegrityError

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, ConcurrencyError, UserError
from odoo.tools import mute_logger

from odoo.addons.queue_job.exception import RetryableJobError

from ..adapters.redaction import get_logger
from ..const import DONE, DUPLICATE, IGNORED
from .channel_connector_fields_mixin import CONNECTOR_FIELDS_MIXIN

_logger = get_logger(__name__)

EXCEPTION_TYPES = [
    ("missing_mapping", "Missing mapping"),
    ("validation", "Validation"),
    ("total_mismatch", "Total mismatch"),
    ("payment_missing_reference", "Payment without reference"),
    ("stock_skipped", "Stock skipped"),
    ("inventory_difference", "Inventory difference"),
    ("api_error", "API error"),
    ("auth_error", "Authentication error"),
    ("rejected_delivery", "Rejected delivery"),
    ("delivery_gap", "Delivery gap"),
    ("refund_incomplete", "Refund incomplete"),
    ("fulfilment_failed", "Fulfilment failed"),
    ("payment_mismatch", "Payment mismatch"),
    ("payment_dispute", "Payment dispute"),
    ("order_edit", "Order edit"),
    ("catalogue_skipped", "Catalogue skipped"),
    ("catalogue_refused", "Catalogue refused"),
    ("catalogue_sku", "SKU problem"),
    ("catalogue_difference", "Catalogue difference"),
]


def failed_job_type(exc_name):
    """The exception type a failed job records. queue_job's on_fail names the
    error with its module (`...adapters.exceptions.ChannelAuthError`)."""
    name = (exc_name or "").rpartition(".")[2]
    return "auth_error" if name == "ChannelAuthError" else "api_error"


class TwinCommittedError(RetryableJobError, ConcurrencyError):
    """Retry the whole transaction: Odoo replays a request on a
    `ConcurrencyError`, queue_job postpones a job on a `RetryableJobError`."""

    def __init__(self, msg):
        super().__init__(msg, seconds=1)


DEFAULT_SEVERITY = {
    "auth_error": "critical",
    "total_mismatch": "error",
    "payment_missing_reference": "warning",
    "stock_skipped": "warning",
    "inventory_difference": "warning",
    "rejected_delivery": "warning",
    "delivery_gap": "error",
    "refund_incomplete": "error",
    "fulfilment_failed": "error",
    "payment_mismatch": "error",
    "payment_dispute": "error",
    "order_edit": "warning",
    "catalogue_skipped": "warning",
    "catalogue_refused": "error",
    "catalogue_sku": "warning",
    "catalogue_difference": "warning",
}
# Odoo documents an exception can point at, by model: the field that holds it.
DOCUMENT_FIELDS = {
    "sale.order": "sale_order_id",
    "res.partner": "partner_id",
    "product.product": "product_id",
    "stock.move": "stock_move_id",
    "account.payment": "payment_id",
}
OPEN_STATES = ("open", "in_progress")
# Events in these states wait on nothing: Retry skips them.
SETTLED_EVENT_STATES = (DONE, IGNORED, DUPLICATE)
# The only fields a channel user may write directly (form, RPC); the rest are
# written by the connector's code, through the action methods.
USER_WRITABLE_FIELDS = frozenset({"user_id", "owner_group_id", "severity"})
MANAGER_WRITABLE_FIELDS = USER_WRITABLE_FIELDS | {"sla_deadline"}


class ChannelException(models.Model):
    """A failure of a channel flow, as a record someone owns and resolves.

    Flows never create these directly: they call `_record(...)`, which
    deduplicates a recurring problem into one record (each recurrence a
    `channel.exception.occurrence` row, never an update) and assigns it
    following the ownership matrix (`channel.exception.owner`).
    A Retry re-runs the failed step through the retry target's
    `_channel_retry()` hook; a success resolves the exception.
    """

    _name = "channel.exception"
    _description = "Channel Exception"
    _inherit = ["mail.thread", "mail.activity.mixin", CONNECTOR_FIELDS_MIXIN]
    _order = "first_seen desc, id desc"

    # === FIELDS ===

    name = fields.Char(
        string="Problem",
        required=True,
        help="What went wrong, in words an operator understands.",
    )
    technical_detail = fields.Text(help="Error text, payload excerpt, traceback.")
    exception_type = fields.Selection(
        EXCEPTION_TYPES, string="Type", required=True, index=True, tracking=True
    )
    severity = fields.Selection(
        [
            ("info", "Info"),
            ("warning", "Warning"),
            ("error", "Error"),
            ("critical", "Critical"),
        ],
        required=True,
        default="error",
    )
    state = fields.Selection(
        [
            ("open", "Open"),
            ("in_progress", "In progress"),
            ("resolved", "Resolved"),
            ("ignored", "Ignored"),
        ],
        default="open",
        required=True,
        index=True,
        tracking=True,
    )
    backend_id = fields.Many2one(
        "channel.backend", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True
    )
    fingerprint = fields.Char(
        required=True,
        readonly=True,
        help="Identifies the problem: a recurrence updates the open exception.",
    )
    first_seen = fields.Datetime(required=True, readonly=True)
    occurrence_ids = fields.One2many(
        "channel.exception.occurrence", "exception_id", readonly=True
    )
    last_seen = fields.Datetime(compute="_compute_occurrences")
    occurrences = fields.Integer(compute="_compute_occurrences")

    # Affected documents.
    sale_order_id = fields.Many2one("sale.order", index="btree_not_null")
    partner_id = fields.Many2one("res.partner", index="btree_not_null")
    product_id = fields.Many2one("product.product", index="btree_not_null")
    stock_move_id = fields.Many2one("stock.move", index="btree_not_null")
    payment_id = fields.Many2one("account.payment", index="btree_not_null")
    channel_sku = fields.Char(
        string="Channel SKU", readonly=True, help="The SKU a missing mapping is about."
    )
    channel_variant_ref = fields.Char(string="Channel variant id", readonly=True)
    retry_model = fields.Char(readonly=True)
    retry_res_id = fields.Many2oneReference(
        model_field="retry_model", readonly=True, string="Retry target"
    )
    retry_event_ids = fields.Many2many(
        "channel.event",
        string="Also waiting",
        readonly=True,
        copy=False,
        help="Further events (orders) waiting on this same problem: Retry "
        "re-runs each of them with the retry target.",
    )
    can_retry = fields.Boolean(compute="_compute_can_retry")

    # Ownership and service level.
    user_id = fields.Many2one("res.users", string="Assignee", tracking=True)
    owner_group_id = fields.Many2one("res.groups", string="Owning team")
    sla_deadline = fields.Datetime(string="Due by", tracking=True)
    is_overdue = fields.Boolean(
        compute="_compute_is_overdue", search="_search_is_overdue"
    )
    resolved_by_id = fields.Many2one("res.users", readonly=True)
    resolved_at = fields.Datetime(readonly=True)
    resolution_hours = fields.Float(
        compute="_compute_resolution_hours",
        store=True,
        aggregator="avg",
        help="Hours from first seen to resolution.",
    )
    ignore_reason = fields.Text(readonly=True)

    # === COMPUTE METHODS ===

    @api.depends("retry_model", "retry_res_id", "retry_event_ids", "state")
    def _compute_can_retry(self):
        for exception in self:
            exception.can_retry = bool(
                exception.state in OPEN_STATES and exception._get_retry_targets()
            )

    @api.depends("sla_deadline", "state")
    def _compute_is_overdue(self):
        now = fields.Datetime.now()
        for exception in self:
            exception.is_overdue = bool(
                exception.state in OPEN_STATES
                and exception.sla_deadline
                and exception.sla_deadline < now
            )

    def _search_is_overdue(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("Unsupported search on overdue."))
        overdue = [
            ("state", "in", OPEN_STATES),
            ("sla_deadline", "<", fields.Datetime.now()),
        ]
        if (operator == "=") == value:
            return overdue
        return ["!", "&", *overdue]

    @api.depends("resolved_at", "first_seen")
    def _compute_resolution_hours(self):
        for exception in self:
            if exception.resolved_at and exception.first_seen:
                delta = exception.resolved_at - exception.first_seen
                exception.resolution_hours = delta.total_seconds() / 3600
            else:
                exception.resolution_hours = 0.0

    # === CONSTRAINT METHODS ===

    # One open exception per problem: concurrent `_record` calls for the same
    # problem cannot create twins.
    _open_fingerprint_unique = models.UniqueIndex(
        "(backend_id, fingerprint) WHERE state IN ('open', 'in_progress')"
    )

    # === CRUD METHODS ===

    def _get_refused_fields(self, field_names):
        """Override of `channel.connector.fields.mixin`: users write only the
        triage fields (and the chatter's); the rest is the connector's."""
        allowed = (
            MANAGER_WRITABLE_FIELDS
            if self.env.user.has_group("channel_connector.group_channel_manager")
            else USER_WRITABLE_FIELDS
        )
        mail_fields = set(self.env["mail.thread"]._fields) | set(
            self.env["mail.activity.mixin"]._fields
        )
        return set(field_names) - allowed - mail_fields

    # === ACTION METHODS ===

    def action_retry(self):
        """Re-run the failed step of each exception; success resolves it."""
        self.check_access("write")
        retried = self.filtered("can_retry")
        if not retried:
            raise UserError(self.env._("There is nothing to retry here."))
        for exception in retried:
            exception._retry()
        return True

    def action_start(self):
        """Take open exceptions in hand: in progress, assigned to the user."""
        self.check_access("write")
        self.filtered(lambda e: e.state == "open").sudo().write(
            {"state": "in_progress", "user_id": self.env.uid}
        )

    def action_assign_to_me(self):
        self.write({"user_id": self.env.uid})

    def action_reopen(self):
        """Open closed exceptions again (the user must be allowed to handle them)."""
        self.check_access("write")
        self.filtered(lambda e: e.state in ("resolved", "ignored")).sudo().write(
            {"state": "open", "resolved_by_id": False, "resolved_at": False}
        )

    def _action_ignore(self, reason):
        """Ignore the open exceptions with a reason kept for audit."""
        self.check_access("write")
        exceptions = self.filtered(lambda e: e.state in OPEN_STATES)
        exceptions.sudo().write({"state": "ignored", "ignore_reason": reason})
        return exceptions

    def action_open_ignore_wizard(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Ignore exceptions"),
            "res_model": "channel.exception.ignore",
            "view_mode": "form",
            "target": "new",
            "context": {"default_exception_ids": self.ids},
        }

    def action_open_retry_target(self):
        self.ensure_one()
        target = self._get_retry_target()
        return {
            "type": "ir.actions.act_window",
            "res_model": target._name,
            "res_id": target.id,
            "view_mode": "form",
        }

    # === COMPUTE METHODS (occurrences) ===

    @api.depends("first_seen", "occurrence_ids.seen_at")
    def _compute_occurrences(self):
        counts = {
            exception.id: (count, last)
            for exception, count, last in self.env["channel.exception.occurrence"]
            .sudo()
            ._read_group(
                [("exception_id", "in", self.ids)],
                ["exception_id"],
                ["__count", "seen_at:max"],
            )
        }
        for exception in self:
            count, last = counts.get(exception.id, (0, None))
            exception.occurrences = 1 + count
            seen = [moment for moment in (exception.first_seen, last) if moment]
            exception.last_seen = max(seen, default=False)

    # === BUSINESS METHODS ===

    @api.model
    def _record(
        self,
        exception_type,
        message,
        *,
        backend,
        detail=None,
        key=None,
        severity=None,
        documents=None,
        retry_target=None,
        sku=None,
        variant_ref=None,
    ):
        """Report a flow failure: the one API every flow uses.

        :param exception_type: a key of `EXCEPTION_TYPES`
        :param message: what went wrong, for an operator (no secrets)
        :param backend: the `channel.backend` concerned
        :param detail: technical text kept apart from the message
        :param key: what identifies the problem within its type (e.g. the SKU);
            defaults to the retry target, else the message
        :param documents: records concerned (orders, partners, products...)
        :param retry_target: record whose `_channel_retry()` re-runs the step
        :param sku: channel SKU of a missing product mapping (enables "Map product")
        :param variant_ref: channel variant id of that SKU
        :return: the new or updated `channel.exception`
        """
        backend.ensure_one()
        fingerprint = self._make_fingerprint(exception_type, key, retry_target, message)
        values = {
            "name": message,
            "technical_detail": detail,
            "last_seen": fields.Datetime.now(),
            **self._document_values(documents),
        }
        if sku or variant_ref:
            values.update(
                channel_sku=sku or False, channel_variant_ref=variant_ref or False
            )
        existing = self._find_open(backend, fingerprint)
        if existing:
            existing._add_occurrence(existing._keep_first_documents(values))
            existing._add_retry_target(retry_target)
            return existing
        values.update(
            exception_type=exception_type,
            severity=severity or DEFAULT_SEVERITY.get(exception_type, "error"),
            backend_id=backend.id,
            company_id=backend.company_id.id,
            fingerprint=fingerprint,
            first_seen=values.pop("last_seen"),
            retry_model=retry_target._name if retry_target else False,
            retry_res_id=retry_target.id if retry_target else False,
        )
        return self._create_or_merge(values)

    @api.model
    def _resolve(self, backend, *, retry_target=None, exception_type=None, key=None):
        """Resolve the open exceptions a successful step has made obsolete."""
        domain = [("backend_id", "=", backend.id), ("state", "in", OPEN_STATES)]
        if retry_target:
            targeted = [
                ("retry_model", "=", retry_target._name),
                ("retry_res_id", "in", retry_target.ids),
            ]
            if retry_target._name == "channel.event":
                targeted = [
                    "|",
                    "&",
                    *targeted,
                    ("retry_event_ids", "in", retry_target.ids),
                ]
            domain += targeted
        if exception_type:
            fingerprint = self._make_fingerprint(exception_type, key, retry_target, "")
            domain += [("fingerprint", "=", fingerprint)]
        exceptions = self.sudo().search(domain)
        if retry_target:
            # A problem several orders wait on stays open while one still waits.
            exceptions = exceptions.filtered(
                lambda e: not e._get_retry_targets(done=retry_target)
            )
        exceptions._mark_resolved()
        return exceptions

    def _mark_resolved(self):
        """Close the exceptions as resolved by the current user (trusted code)."""
        self.sudo().write(
            {
                "state": "resolved",
                "resolved_by_id": self.env.uid,
                "resolved_at": fields.Datetime.now(),
            }
        )
        for exception in self:
            exception.activity_ids.action_feedback(
                feedback=self.env._("Resolved by %s", self.env.user.name)
            )

    def _retry(self):
        """Re-run the step behind one exception and resolve it on success."""
        self.ensure_one()
        succeeded = True
        targets = self._get_retry_targets()
        self._check_retry_targets(targets)
        # Every order waiting on the problem is retried, each in its savepoint.
        for target in targets:
            succeeded &= self._retry_target(target)
        if succeeded:
            if self.state in OPEN_STATES:
                self._mark_resolved()
            self.message_post(
                body=self.env._("Retried by %s: resolved.", self.env.user.name)
            )
        elif self.state in OPEN_STATES:
            self.message_post(body=self.env._("Retried: the problem remains."))
        return succeeded

    def _retry_target(self, target):
        """Re-run one target's step; whether it succeeded."""
        # The step runs as the system, like its job would; the user is recorded.
        target = target.sudo()
        try:
            with self.env.cr.savepoint():
                succeeded = bool(target._channel_retry())
        except (UserError, RetryableJobError) as exc:
            self.message_post(body=self.env._("Retry failed: %s", exc))
            return False
        if succeeded:
            self._link_retry_result(target)
        return succeeded

    def _check_retry_targets(self, targets):
        """Refuse to run (as the system) a target outside this exception's
        backend and company: Retry must never reach another company's data."""
        self.ensure_one()
        backend_sudo = self.sudo().backend_id
        foreign = backend_sudo.company_id != self.sudo().company_id or any(
            not self._is_own_target(target.sudo(), backend_sudo) for target in targets
        )
        if foreign:
            raise AccessError(
                self.env._(
                    "The retry target of exception %s does not belong to its "
                    "backend and company: it is not run.",
                    self.id,
                )
            )

    @api.model
    def _is_own_target(self, target_sudo, backend_sudo):
        """Whether a retry target is the backend itself or one of its records."""
        if target_sudo._name == "channel.backend":
            return target_sudo == backend_sudo
        return (
            "backend_id" in target_sudo._fields
            and target_sudo.backend_id == backend_sudo
        )

    def _link_retry_result(self, target):
        """Point the exception at the document its retry produced (e.g. the
        sale order an event finally created), for whoever reads it next."""
        result_model = target._fields.get("res_model") and target.res_model
        field_name = DOCUMENT_FIELDS.get(result_model)
        if field_name and target.res_id and not self[field_name]:
            self.sudo()[field_name] = target.res_id

    def action_open_map_product(self):
        """Map the unknown SKU of this exception to a product, then retry."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Map product"),
            "res_model": "channel.exception.map.product",
            "view_mode": "form",
            "target": "new",
            "context": {"default_exception_id": self.id},
        }

    def _get_retry_targets(self, done=None):
        """The records Retry re-runs: the retry target, then every further
        event still waiting on the problem.

        :param done: a record that just succeeded, so no longer waits
        """
        self.ensure_one()
        target = self._get_retry_target()
        targets = [] if target is None else [target]
        targets += [e for e in self.retry_event_ids.exists() if e != target]
        return [
            t
            for t in targets
            if t != done
            and not (t._name == "channel.event" and t.state in SETTLED_EVENT_STATES)
        ]

    def _add_retry_target(self, retry_target):
        """A recurrence from another event: it waits on this problem too."""
        if (
            retry_target
            and retry_target._name == "channel.event"
            and retry_target != self._get_retry_target()
            and retry_target not in self.retry_event_ids
        ):
            self.sudo().retry_event_ids = [Command.link(retry_target.id)]

    def _get_retry_target(self):
        self.ensure_one()
        if not self.retry_model or self.retry_model not in self.env:
            return None
        target = self.env[self.retry_model].browse(self.retry_res_id).exists()
        return target or None

    @api.model
    def _make_fingerprint(self, exception_type, key, retry_target, message):
        if key is not None:
            identity = f"key:{key}"
        elif retry_target:
            identity = f"target:{retry_target._name},{retry_target.id}"
        else:
            identity = "message:" + hashlib.sha256(message.encode()).hexdigest()[:16]
        return f"{exception_type}:{identity}"

    @api.model
    def _document_values(self, documents):
        values = {}
        for record in documents or ():
            field_name = DOCUMENT_FIELDS.get(record._name)
            if field_name and record:
                values[field_name] = record[:1].id
        return values

    def _keep_first_documents(self, values):
        """`values` of a recurrence without the documents already set: the
        exception keeps those of its first occurrence (e.g. the customer of
        the first order waiting on a SKU); later orders are listed as
        further retry targets, not swapped in."""
        self.ensure_one()
        return {
            key: value
            for key, value in values.items()
            if key not in DOCUMENT_FIELDS.values() or not self[key]
        }

    @api.model
    def _find_open(self, backend, fingerprint):
        return self.sudo().search(
            [
                ("backend_id", "=", backend.id),
                ("fingerprint", "=", fingerprint),
                ("state", "in", OPEN_STATES),
            ],
            limit=1,
        )

    def _add_occurrence(self, values):
        """Count a recurrence: insert a row, never update this one (a hot
        row updated by concurrent jobs fails their transactions to
        serialize). Only documents still unset are written here."""
        self.ensure_one()
        self.env["channel.exception.occurrence"].sudo().create(
            {
                "exception_id": self.id,
                "seen_at": values.get("last_seen")
                or values.get("first_seen")
                or fields.Datetime.now(),
                "name": values.get("name"),
                "technical_detail": values.get("technical_detail"),
            }
        )
        self.invalidate_recordset(["occurrence_ids", "occurrences", "last_seen"])
        documents = {
            key: value
            for key, value in values.items()
            if key in DOCUMENT_FIELDS.values() and value
        }
        if documents:
            self.sudo().write(documents)

    @api.model
    def _create_or_merge(self, values):
        """Create the exception, or merge into a twin a concurrent call created."""
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                exception = self.sudo().create(values)
        except IntegrityError as exc:
            backend = self.env["channel.backend"].browse(values["backend_id"])
            exception = self._find_open(backend, values["fingerprint"])
            if not exception:
                # The twin committed after this transaction's snapshot began
                # (REPEATABLE READ): only a new transaction can see it.
                msg = "A concurrent transaction recorded the same exception."
                raise TwinCommittedError(msg) from exc
            exception._add_occurrence(exception._keep_first_documents(values))
            return exception
        exception._assign_owner()
        _logger.info(
            "channel.exception %s recorded: %s", exception.id, exception.exception_type
        )
        return exception

    @api.model
    def _cron_send_digest(self):
        """Cron (off by default): mail each assignee their open exceptions,
        only those of companies (and under rights) the assignee may read."""
        template = self.env.ref("channel_connector.mail_template_exception_digest")
        open_exceptions = self.sudo().search(
            [("state", "in", OPEN_STATES), ("user_id", "!=", False)]
        )
        mailed = 0
        for user, exceptions_sudo in open_exceptions.grouped("user_id").items():
            exceptions = exceptions_sudo._visible_to(user)
            if not exceptions:
                continue
            template.with_context(
                digest_exceptions=exceptions,
                digest_overdue_count=len(exceptions.filtered("is_overdue")),
            ).send_mail(user.id, email_layout_xmlid="mail.mail_notification_light")
            mailed += 1
        return mailed

    def _visible_to(self, user):
        """The exceptions `user` may read in any of their companies."""
        return (
            self.with_user(user)
            .with_context(allowed_company_ids=user.company_ids.ids)
            ._filtered_access("read")
            .sudo()
        )

    def _assign_owner(self):
        """Apply the ownership matrix: assignee, team, SLA and a to-do activity."""
        for exception in self:
            rule = self.env["channel.exception.owner"]._find_rule(
                exception.backend_id, exception.exception_type
            )
            if not rule:
                continue
            deadline = exception.first_seen + timedelta(hours=rule.sla_hours)
            exception.write(
                {
                    "user_id": rule.user_id.id,
                    "owner_group_id": rule.group_id.id,
                    "sla_deadline": deadline,
                }
            )
            if rule.user_id:
                exception.activity_schedule(
                    "mail.mail_activity_data_todo",
                    date_deadline=fields.Date.to_date(deadline),
                    summary=self.env._("Channel exception to resolve"),
                    note=exception.name,
                    user_id=rule.user_id.id,
                )


class ChannelExceptionOccurrence(models.Model):
    """One recurrence of an open exception: when, with which message.

    Insert-only, so that jobs meeting one problem at once never write the
    same row."""

    _name = "channel.exception.occurrence"
    _description = "Channel Exception Occurrence"
    _order = "seen_at desc, id desc"
    _log_access = False

    exception_id = fields.Many2one(
        "channel.exception",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    seen_at = fields.Datetime(required=True, readonly=True)
    name = fields.Char(string="Problem", readonly=True)
    technical_detail = fields.Text(readonly=True)
