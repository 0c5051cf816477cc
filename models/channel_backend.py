from contextlib import contextmanager
from datetime import UTC, timedelta
from types import MappingProxyType

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain

from odoo.addons.queue_job.exception import RetryableJobError

from .. import adapters
from ..adapters.exceptions import (
    ChannelAuthError,
    ChannelError,
    ChannelRetryableError,
    ChannelThrottledError,
)
from ..adapters.redaction import get_logger
from ..const import JOB_MAX_RETRIES, channel_identity_key
from .channel_api_budget import PRIORITY_FLOORS
from .channel_exception import failed_job_type

_logger = get_logger(__name__)

MANAGER_GROUP = "channel_connector.group_channel_manager"


class ChannelBackend(models.Model):
    """One connected sales channel account (a shop, a store, a marketplace).

    The engine is provider-agnostic, like `payment.provider`: the `provider`
    selection is extended by one file per provider, and provider behaviour sits
    behind the documented `_get_*` hooks below, overridden behind a
    `if self.provider != "<code>": return super()...` guard.

    Adding a channel touches:
    - `adapters/<code>.py` (ORM-free HTTP and payloads) and `adapters.ADAPTERS`;
    - `models/channel_backend_<code>.py`: `selection_add`, credentials,
      capabilities (`supports_*`: operations its adapter lacks stay off), hooks;
    - `models/<model>_<code>.py`: fields only this provider needs on another
      model (`_inherit`), read through backend hooks;
    - `views/channel_backend_<code>_views.xml`: its credentials page;
    - tests with real fixtures in simulator/reference/.
    """

    _name = "channel.backend"
    _description = "Channel Backend"
    _inherit = ["mail.thread"]
    _order = "sequence, name, id"
    _check_company_auto = True

    # === FIELDS ===

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    provider = fields.Selection(
        selection=[("none", "No provider")],
        default="none",
        required=True,
        tracking=True,
        help="The kind of channel; decides which adapter talks to it.",
    )
    state = fields.Selection(
        selection=[
            ("draft", "Draft"),
            ("connected", "Connected"),
            ("error", "Error"),
            ("disabled", "Disabled"),
        ],
        default="draft",
        required=True,
        copy=False,
        tracking=True,
    )
    state_message = fields.Text(
        string="Last connection result", readonly=True, copy=False
    )
    last_connection_check = fields.Datetime(compute="_compute_run_state")
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
        tracking=True,
    )
    warehouse_id = fields.Many2one(
        "stock.warehouse",
        check_company=True,
        help="Warehouse that ships this channel's orders.",
    )
    stock_location_ids = fields.Many2many(
        "stock.location",
        string="Locations to publish",
        check_company=True,
        domain="[('usage', '=', 'internal')]",
        help="Internal locations whose free quantity is published to the channel.",
    )
    api_url = fields.Char(
        string="API base URL",
        help="Root URL of the channel API, e.g. https://shop.example.com.",
    )
    api_version = fields.Char(
        string="API version",
        compute="_compute_api_version",
        store=True,
        readonly=False,
        precompute=True,
    )
    request_timeout = fields.Integer(
        string="Request timeout (s)", default=20, required=True
    )
    webhook_secret = fields.Char(
        string="Webhook signing secret",
        groups=MANAGER_GROUP,
        copy=False,
        help="Key of the HMAC the channel signs its webhook deliveries with.",
    )
    previous_webhook_secret = fields.Char(
        groups=MANAGER_GROUP,
        copy=False,
        readonly=True,
        help="The secret replaced last: it still verifies deliveries during "
        "the grace period, so that rotating the secret loses none.",
    )
    webhook_secret_rotated_at = fields.Datetime(
        groups=MANAGER_GROUP, copy=False, readonly=True
    )
    webhook_secret_grace_hours = fields.Integer(
        string="Secret rotation grace (h)",
        default=24,
        help="How long the previous signing secret still verifies deliveries "
        "after it was replaced.",
    )

    # Sync policies: which flows run, and how far an imported order goes.
    import_orders = fields.Boolean(string="Import orders", default=True)
    order_confirm = fields.Boolean(string="Confirm orders", default=True)
    order_create_invoice = fields.Boolean(string="Create and post invoices")
    export_fulfilments = fields.Boolean(
        string="Report shipments",
        default=True,
        help="A validated delivery of a channel order is reported as shipped "
        "on the channel, with its tracking number.",
    )
    fulfilment_notify_customer = fields.Boolean(
        string="Channel notifies the buyer",
        default=True,
        help="The channel sends its shipping confirmation to the buyer when a "
        "shipment is reported.",
    )
    carrier_mapping_ids = fields.One2many(
        "channel.carrier.mapping",
        "backend_id",
        string="Carriers",
        help="Odoo carriers as the channel names them, with their tracking URL.",
    )
    order_register_payment = fields.Boolean(string="Register payments")
    order_read_from_channel = fields.Boolean(
        string="Read orders from the channel",
        default=True,
        help="Import an order as the channel holds it now (one API call) when "
        "its event is replayed or retried, and when an order to import arrives "
        "as a webhook body that lacks what the import needs (payment "
        "transactions, gift card payments, risk assessment). Off: the "
        "delivered body is imported as it is.",
    )
    export_stock = fields.Boolean(string="Export stock", default=True)
    stock_export_interval = fields.Integer(
        string="Stock export interval (min)",
        default=15,
        required=True,
        help="Minutes between two exports of the variants that are not fast movers.",
    )

    # Capabilities, computed per provider; views test these, not provider codes.
    supports_connection_test = fields.Boolean(compute="_compute_capabilities")
    supports_webhooks = fields.Boolean(compute="_compute_capabilities")
    supports_order_import = fields.Boolean(compute="_compute_capabilities")
    supports_order_pull = fields.Boolean(
        compute="_compute_capabilities",
        help="The channel can list its orders (reconciliation pull, backfill).",
    )
    supports_stock_export = fields.Boolean(compute="_compute_capabilities")
    supports_refund_import = fields.Boolean(
        compute="_compute_capabilities",
        help="The channel's refunds become credit notes and stock returns.",
    )
    supports_fulfilment_export = fields.Boolean(
        compute="_compute_capabilities",
        help="Deliveries validated in Odoo are reported as shipped on the channel.",
    )
    supports_payout_import = fields.Boolean(
        compute="_compute_capabilities",
        help="The channel's own payment processor's payouts can be read.",
    )
    supports_catalogue_publish = fields.Boolean(
        compute="_compute_capabilities",
        help="Odoo's products, variants and prices can be published.",
    )
    supports_catalogue_images = fields.Boolean(
        compute="_compute_capabilities",
        help="Product images can be published without making them public.",
    )

    # === COMPUTE METHODS ===

    @api.depends("provider")
    def _compute_api_version(self):
        for backend in self:
            if not backend.api_version:
                backend.api_version = backend._get_default_api_version()

    @api.depends("provider")
    def _compute_capabilities(self):
        """Reset every capability; each provider file switches its own on."""
        self.update(
            {
                "supports_connection_test": False,
                "supports_webhooks": False,
                "supports_order_import": False,
                "supports_order_pull": False,
                "supports_stock_export": False,
                "supports_refund_import": False,
                "supports_fulfilment_export": False,
                "supports_payout_import": False,
                "supports_catalogue_publish": False,
                "supports_catalogue_images": False,
            }
        )

    # === CONSTRAINT METHODS ===

    _request_timeout_positive = models.Constraint(
        "CHECK(request_timeout > 0)", "The request timeout must be positive."
    )
    _stock_export_interval_positive = models.Constraint(
        "CHECK(stock_export_interval > 0)",
        "The stock export interval must be positive.",
    )

    # === CRUD METHODS ===

    @api.model_create_multi
    def create(self, vals_list):
        backends = super().create(vals_list)
        self.env["channel.sync.status"]._create_missing(backends)
        self._clear_webhook_receivers()
        return backends

    def write(self, vals):
        if vals.get("webhook_secret"):
            self._keep_previous_secret(vals["webhook_secret"])
        watched = [name for name in self._get_webhook_field_names() if name in vals]
        before = self.sudo().read(watched) if watched else None
        result = super().write(vals)
        if watched and self.sudo().read(watched) != before:
            self._clear_webhook_receivers()
        return result

    def _keep_previous_secret(self, new_secret):
        """A replaced signing secret keeps verifying for the grace period
        (the channel may still sign retries with it)."""
        now = fields.Datetime.now()
        for backend in self.sudo():
            if backend.webhook_secret and backend.webhook_secret != new_secret:
                # The parent's write, not this override: no second rotation.
                super(ChannelBackend, backend).write(  # pylint: disable=super-method-mismatch
                    {
                        "previous_webhook_secret": backend.webhook_secret,
                        "webhook_secret_rotated_at": now,
                    }
                )

    def unlink(self):
        result = super().unlink()
        self._clear_webhook_receivers()
        return result

    def _clear_webhook_receivers(self):
        """Drop `_get_webhook_receivers` in every worker, now and once more
        after the commit: a thread of a threaded server may have cached the
        old values in between."""
        self.env.registry.clear_cache()
        self.env.cr.postcommit.add(self.env.registry.clear_cache)

    # === ACTION METHODS ===

    def action_test_connection(self):
        """Call the channel with the stored credentials and record the outcome."""
        self.ensure_one()
        self._check_manager_rights()
        if not self.supports_connection_test:
            raise UserError(
                self.env._("%(name)s has no connection to test.", name=self.name)
            )
        succeeded = self._check_connection()
        notification_type = "success" if succeeded else "danger"
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Connection test"),
                "message": self.state_message,
                "type": notification_type,
                "sticky": not succeeded,
            },
        }

    def action_disable(self):
        """Stop every flow of these backends without archiving them."""
        self._check_manager_rights()
        self.state = "disabled"

    def action_reset_to_draft(self):
        self._check_manager_rights()
        self.write({"state": "draft", "state_message": False})

    def _check_manager_rights(self):
        """Actions of the backend form's manager buttons: a channel user may
        read the backend and call them over RPC, so the group is checked
        here, then the record rules (the actions go on in sudo() or call
        the channel with its credentials)."""
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(
                self.env._("Only channel managers run this action on a backend.")
            )
        self.check_access("write")

    # === BUSINESS METHODS ===

    def _check_connection(self):
        """Test the connection and store the result: the time on the flow's
        status, the state on the backend only when it changes (a check is
        run state; a new state is what configures the flows).

        Return True when the channel answered; never raise for a channel error,
        so that a scheduled check of many backends goes on after one fails.
        """
        self.ensure_one()
        failure_type = None
        try:
            description = self._get_adapter(priority="orders").test_connection()
        except ChannelAuthError as exc:
            failure_type = "auth_error"
            message = self.env._("The channel refused the credentials: %s", exc)
        except ChannelError as exc:
            failure_type = "api_error"
            message = self.env._("The channel could not be reached: %s", exc)
        else:
            message = self.env._("Connected to %s", description)
        self._get_sync_status("connection").last_run_at = fields.Datetime.now()
        state = "error" if failure_type else "connected"
        if (self.state, self.state_message) != (state, message):
            self.write({"state": state, "state_message": message})
        _logger.info("channel.backend %s connection check: %s", self.id, self.state)
        Exception_ = self.env["channel.exception"]
        if failure_type:
            Exception_._record(
                failure_type, message, backend=self, key="connection", retry_target=self
            )
        else:
            for exception_type in ("auth_error", "api_error"):
                Exception_._resolve(
                    self, exception_type=exception_type, key="connection"
                )
        return self.state == "connected"

    def _accepts_webhooks(self):
        """Whether deliveries for this backend are received (else 404)."""
        return bool(
            self and self.active and self.state != "disabled" and self.supports_webhooks
        )

    @api.model
    def _get_webhook_receiver(self, backend_id):
        """The backend a delivery is addressed to (as superuser), or an empty
        recordset; decided from the cached `_get_webhook_receivers`."""
        if backend_id not in self._get_webhook_receivers():
            return self.browse()
        return self.sudo().browse(backend_id)

    @api.model
    def _get_webhook_receiver_values(self, backend_id):
        """(provider, company id, adapter config) of a backend that receives
        webhooks, else None."""
        return self._get_webhook_receivers().get(backend_id)

    @api.model
    @tools.ormcache()
    def _get_webhook_receivers(self):
        """{backend id: (provider, company id, adapter config)} of every
        backend that receives webhooks, read in one query and cached per
        worker: a delivery reads no backend row, and an unknown id is
        answered without a query or a cache entry of its own.

        Writing a field the values come from (`_get_webhook_field_names`)
        clears Odoo's caches in every worker, as `ir.config_parameter` does.
        Read-only mappings: the config holds the signing secret, callers
        copy it and never log it.
        """
        backends = self.sudo().search_fetch([], self._get_webhook_field_names())
        return MappingProxyType(
            {
                backend.id: (
                    backend.provider,
                    backend.company_id.id,
                    MappingProxyType(backend._get_adapter_config()),
                )
                for backend in backends
                if backend._accepts_webhooks()
            }
        )

    def _get_adapter(self, priority, transport=None):
        """Build this backend's ORM-free adapter: the only place that does
        (with `_get_webhook_adapter`, for the receive path).

        :param priority: "orders", "fulfilment", "stock" or "catalog", the
            flow the calls serve: they share the account's rate-limit budget
            with every worker, leaving the floor of that priority to the ones
            above it
        """
        self.ensure_one()
        if priority not in PRIORITY_FLOORS:
            raise ValueError(f"Unknown adapter priority {priority!r}")
        if self.provider not in adapters.ADAPTERS:
            raise UserError(
                self.env._("Backend %(name)s has no provider.", name=self.name)
            )
        config = self.sudo()._get_adapter_config()
        config["budget"] = self.env["channel.api.budget"]._for_backend(self, priority)
        return adapters.get_adapter(self.provider, config, transport=transport)

    @api.model
    def _get_webhook_adapter(self, backend_id):
        """(adapter, provider, company id) of a backend that receives webhooks,
        else None; built from the cached receiver values, no row read.

        The receive path only checks a ping, verifies the signature and
        parses the body: its adapter makes no HTTP call, so it carries no
        rate-limit budget (which would cost the request a query).
        """
        receiver = self._get_webhook_receiver_values(backend_id)
        if not receiver:
            return None
        provider, company_id, config = receiver
        return adapters.get_adapter(provider, dict(config)), provider, company_id

    # === JOBS ===

    @api.model
    def _cron_check_connections(self):
        """Cron: enqueue a connection check of every backend that should be live."""
        backends = self.search([("state", "in", ("connected", "error"))])
        for backend in backends.filtered("supports_connection_test"):
            backend.with_delay(
                max_retries=JOB_MAX_RETRIES,
                identity_key=backend._identity_key("check_connection"),
            )._job_check_connection()

    def _job_check_connection(self):
        """Job: re-test the connection so that revoked credentials show early."""
        self.ensure_one()
        if not self.active or self.state == "disabled":
            return f"skipped: backend {self.id} is archived or disabled"
        self._check_connection()
        return self.state

    def _channel_retry(self):
        """Retry hook of `channel.exception`: test the connection again."""
        self.ensure_one()
        return self._check_connection()

    def _on_job_failed(self, exc_name=None, exc_message=None, **_values):
        """on_fail hook of this model's jobs: a failed job is an exception."""
        for backend in self:
            self.env["channel.exception"]._record(
                failed_job_type(exc_name),
                self.env._(
                    "A job of %(name)s failed: %(error)s",
                    name=backend.name,
                    error=exc_message or exc_name,
                ),
                backend=backend,
                key=f"job:{exc_name}",
                detail=exc_message,
            )

    def _identity_key(self, flow, *parts):
        """queue_job identity key naming the work: one job per piece of work."""
        return channel_identity_key(flow, self.id, *parts)

    @contextmanager
    def _map_channel_errors(self, delay=60):
        """Turn a transient channel error raised inside into a queue_job retry
        after the wait the channel asked for (else `delay` seconds). Throttling
        is waiting, not failing: its retry is not counted."""
        try:
            yield
        except ChannelRetryableError as exc:
            raise RetryableJobError(
                str(exc),
                seconds=exc.retry_after or delay,
                ignore_retry=isinstance(exc, ChannelThrottledError),
            ) from exc

    # === PROVIDER HOOKS ===

    def _reports_fulfilments(self):
        """Hook: whether validated deliveries are reported to this channel
        (capability and policy; providers add what else they need)."""
        self.ensure_one()
        return self.supports_fulfilment_export and self.export_fulfilments

    def _get_default_api_version(self):
        """Hook: the channel API version a new backend of this provider uses.

        :return: the version string, or False when the channel has none
        """
        return False

    def _get_required_webhook_topics(self):
        """Hook: the webhook topics the enabled flows need, in the channel's
        naming; `_sync_webhook_subscriptions` keeps them subscribed."""
        self.ensure_one()
        return []

    @api.model
    def _get_webhook_field_names(self):
        """Hook: the fields a webhook delivery reads (`_accepts_webhooks`, the
        adapter config, the event insert).

        Providers add the fields their `_get_adapter_config` reads. Writing
        one of these clears the cache of `_get_webhook_receiver_values`, so
        a field missing here would leave an old value in use (and cost a
        second query: `test_receiver_values_are_read_in_one_query`).
        """
        return [
            "active",
            "state",
            "provider",
            "company_id",
            "api_url",
            "api_version",
            "request_timeout",
            "webhook_secret",
            "previous_webhook_secret",
            "webhook_secret_rotated_at",
            "webhook_secret_grace_hours",
        ]

    def _get_stock_binding_gap(self, binding):
        """Hook: what the channel needs to write this binding's stock and
        the binding lacks (a sentence for the skip), None if nothing.

        :param binding: the `channel.product.binding` of the level
        """
        return None

    def _get_variant_binding_values(self, variant):
        """Hook: provider fields of the binding of a `catalogue.ChannelVariant`
        (what stock export needs beyond the variant id)."""
        return {}

    def _get_stock_quantity_values(self, binding):
        """Hook: provider keys of a binding's `stock.StockQuantity`."""
        return {}

    def _get_stock_report_binding_domain(self, report):
        """Hook: the domain of the binding a `stock.ChannelStockReport` is
        about (matching nothing by default: no stock reports)."""
        return Domain.FALSE

    def _get_sandbox_values(self):
        """Hook: how this provider's sandbox backend meets the simulator;
        empty when the simulator does not play this provider.

        :return: {"backend": field values (name, sequence, credentials),
            "location": (name, ref) of the channel location,
            "gateways": the payment gateways to map}
        """
        self.ensure_one()
        return {}

    def _get_adapter_config(self):
        """Hook: the plain dict the adapter is built from.

        Providers add their credentials; called on a sudo'ed record by
        `_get_adapter` so that ops users can run jobs without reading secrets.
        """
        self.ensure_one()
        return {
            "base_url": self.api_url or "",
            "api_version": self.api_version or "",
            "timeout": self.request_timeout,
            "webhook_secret": self.webhook_secret or "",
            **self._previous_secret_config(),
        }

    def _previous_secret_config(self):
        """The replaced secret and until when (time.time()) it verifies."""
        if not (self.previous_webhook_secret and self.webhook_secret_rotated_at):
            return {}
        until = self.webhook_secret_rotated_at + timedelta(
            hours=max(self.webhook_secret_grace_hours, 0)
        )
        return {
            "previous_webhook_secret": self.previous_webhook_secret,
            "previous_webhook_secret_until": until.replace(tzinfo=UTC).timestamp(),
        }
