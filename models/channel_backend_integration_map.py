from odoo import fields, models

from ..const import (
    JOB_CHANNEL_CATALOG,
    JOB_CHANNEL_ORDERS,
    JOB_CHANNEL_STOCK,
    JOB_CHANNEL_WEBHOOKS,
)


class ChannelBackend(models.Model):
    """The integration map: each flow of a backend, from its live configuration.

    Handover documentation that cannot drift from reality: it is generated
    from the provider's capabilities, the backend's policies, the ownership
    matrix and the job channels every time it is shown or printed.
    """

    _inherit = "channel.backend"

    integration_map_html = fields.Html(
        string="Integration map",
        compute="_compute_integration_map_html",
        sanitize=False,
    )

    def _compute_integration_map_html(self):
        for backend in self:
            backend.integration_map_html = self.env["ir.qweb"]._render(
                "channel_connector.integration_map_table",
                {"rows": backend._get_integration_map()},
            )

    def action_print_integration_map(self):
        return self.env.ref(
            "channel_connector.action_report_integration_map"
        ).report_action(self)

    def _get_integration_map(self):
        """One dict per flow: what moves, which way, when, who owns failures."""
        self.ensure_one()
        channel = dict(self._fields["provider"].selection).get(self.provider, "")
        rows = [
            self._map_row(
                flow=self.env._("Webhook intake"),
                system=self.env._("%s → Odoo", channel),
                trigger=self.env._("Webhook"),
                frequency=self.env._("Real time; stuck events requeued every 15 min"),
                types=("rejected_delivery", "validation"),
                job_channel=JOB_CHANNEL_WEBHOOKS,
                enabled=self.supports_webhooks,
            ),
            self._map_row(
                flow=self.env._("Order import"),
                system=self.env._("%s → Odoo", channel),
                trigger=self.env._("Webhook + reconciliation pull"),
                frequency=self._order_policy_text(),
                types=(
                    "missing_mapping",
                    "total_mismatch",
                    "payment_missing_reference",
                ),
                job_channel=JOB_CHANNEL_ORDERS,
                enabled=self.supports_order_import and self.import_orders,
            ),
            self._map_row(
                flow=self.env._("Stock export"),
                system=self.env._("Odoo → %s", channel),
                trigger=self.env._("Schedule + stock moves"),
                frequency=self.env._("Every %s min", self.stock_export_interval),
                types=("stock_skipped", "inventory_difference"),
                job_channel=JOB_CHANNEL_STOCK,
                enabled=self.supports_stock_export and self.export_stock,
            ),
            self._map_row(
                flow=self.env._("Connection health"),
                system=self.env._("Odoo → %s", channel),
                trigger=self.env._("Schedule"),
                frequency=self.env._("Hourly"),
                types=("auth_error", "api_error"),
                job_channel=JOB_CHANNEL_CATALOG,
                enabled=self.supports_connection_test,
            ),
        ]
        return [row for row in rows if row["enabled"]]

    def _map_row(
        self, *, flow, system, trigger, frequency, types, job_channel, enabled
    ):
        Owner = self.env["channel.exception.owner"]
        owners = {
            rule.user_id.name or rule.group_id.name
            for rule in (Owner._find_rule(self, t) for t in types)
            if rule
        }
        type_labels = dict(
            self.env["channel.exception"]._fields["exception_type"].selection
        )
        return {
            "flow": flow,
            "system": system,
            "trigger": trigger,
            "frequency": frequency,
            "owner": ", ".join(sorted(filter(None, owners)))
            or self.env._("Unassigned"),
            "exception_path": self.env._(
                "Channels › Exceptions: %s", ", ".join(type_labels[t] for t in types)
            ),
            "job_channel": job_channel,
            "enabled": bool(enabled),
        }

    def _order_policy_text(self):
        steps = [self.env._("import")]
        if self.order_confirm:
            steps.append(self.env._("confirm"))
        if self.order_create_invoice:
            steps.append(self.env._("invoice"))
        if self.order_register_payment:
            steps.append(self.env._("register payment"))
        return self.env._("Real time: %s", " → ".join(steps))
