from odoo import api, fields, models

from ..adapters.records import (
    ChannelRefund,
    PaymentTransactionData,
    RefundAdjustmentData,
)
from ..const import DONE

DISPUTE_PREFIX = "dispute:"


class ChannelRefundBinding(models.Model):
    """Payment disputes (chargebacks): a `payment_dispute` exception for
    finance while the dispute is open, due by its evidence date; a lost one
    is booked by the refund engine as a credit note without return."""

    _inherit = "channel.refund.binding"

    # === FIELDS ===

    is_dispute = fields.Boolean(
        string="Chargeback",
        readonly=True,
        help="A chargeback lost on the channel: no goods come back.",
    )

    # === BUSINESS METHODS ===

    @api.model
    def _apply_channel_dispute(self, backend, dispute):
        """Follow one canonical `DisputeData` to its current status.

        :return: (record, outcome): the refund binding of a booked chargeback,
            else the dispute's exception (empty once closed)
        :raise RetryableJobError: a lost dispute's order is not imported yet
        """
        order_binding = self.env["channel.order.binding"].search(
            [
                ("backend_id", "=", backend.id),
                ("external_ref", "=", dispute.order_ref or ""),
            ]
        )
        key = f"{DISPUTE_PREFIX}{dispute.external_ref}"
        Exception_ = self.env["channel.exception"]
        if dispute.is_closed:
            Exception_._resolve(backend, exception_type="payment_dispute", key=key)
            return Exception_, DONE
        if (
            dispute.is_lost
            and dispute.order_ref
            and backend.dispute_lost_policy == "credit_note"
        ):
            binding, outcome = self._book_chargeback(backend, order_binding, dispute)
            if binding.state == "done":
                Exception_._resolve(backend, exception_type="payment_dispute", key=key)
                # A payout that withdrew the amount already waits for it.
                self.env["channel.payout.line"]._match_dispute_payments(
                    binding.payment_ids
                )
                return binding, outcome
        return self._record_dispute(backend, order_binding, dispute), DONE

    @api.model
    def _book_chargeback(self, backend, order_binding, dispute):
        """Book a lost dispute through the refund engine, once."""
        return self._apply_channel_refund(
            backend,
            self._chargeback_refund(backend, order_binding, dispute),
            values={
                "is_dispute": True,
                "name": self.env._(
                    "Chargeback %(ref)s of %(order)s",
                    ref=dispute.external_ref,
                    order=order_binding.channel_name or dispute.order_ref,
                ),
            },
        )

    @api.model
    def _chargeback_refund(self, backend, order_binding, dispute):
        """The lost amount as a refund of its order (adjustment only, paid
        back through the order's gateway, the dispute id as memo)."""
        ref = f"{DISPUTE_PREFIX}{dispute.external_ref}"
        currency = dispute.currency or order_binding.currency_id.name
        gateway = dispute.gateway or self._order_gateway(order_binding)
        return ChannelRefund(
            external_ref=ref,
            order_ref=dispute.order_ref or "",
            provider=backend.provider,
            currency=currency,
            total=dispute.amount,
            adjustments=(
                RefundAdjustmentData(
                    external_ref=None,
                    reason=self.env._(
                        "Chargeback %(ref)s (%(reason)s)",
                        ref=dispute.external_ref,
                        reason=dispute.reason or dispute.kind,
                    ),
                    amount=dispute.amount,
                ),
            ),
            transactions=(
                PaymentTransactionData(
                    external_ref=ref,
                    gateway=gateway,
                    kind="refund",
                    status="success",
                    amount=dispute.amount,
                    currency=currency,
                    transaction_ref=dispute.external_ref,
                ),
            ),
        )

    @api.model
    def _order_gateway(self, order_binding):
        """The gateway the order's invoice was paid through (its journal's
        payment mapping), for a dispute that does not name one."""
        if not order_binding.sale_order_id:
            return None
        invoice = order_binding.sale_order_id.invoice_ids.filtered(
            lambda m: m.move_type == "out_invoice" and m.state == "posted"
        )[:1]
        journals = invoice._get_reconciled_payments().journal_id
        mapping = self.env["channel.payment.mapping"].search(
            [
                ("backend_id", "=", order_binding.backend_id.id),
                ("journal_id.code", "in", journals.mapped("code")),
            ],
            limit=1,
        )
        return mapping.gateway or None

    @api.model
    def _record_dispute(self, backend, order_binding, dispute):
        """The dispute's exception, kept to its latest status: for finance,
        due by the evidence date."""
        sale_order = order_binding.sale_order_id
        exception = self.env["channel.exception"]._record(
            "payment_dispute",
            self._dispute_message(backend, order_binding, dispute),
            backend=backend,
            key=f"{DISPUTE_PREFIX}{dispute.external_ref}",
            documents=[sale_order] if sale_order else [],
        )
        values = {"name": self._dispute_message(backend, order_binding, dispute)}
        if dispute.evidence_due_by:
            values["sla_deadline"] = dispute.evidence_due_by.replace(tzinfo=None)
        if not exception.owner_group_id:
            values["owner_group_id"] = self.env.ref(
                "channel_connector.group_channel_finance"
            ).id
        exception.sudo().write(values)
        return exception

    @api.model
    def _dispute_message(self, backend, order_binding, dispute):
        invoice = order_binding.sale_order_id.invoice_ids.filtered(
            lambda m: m.move_type == "out_invoice"
        )[:1]
        currency = self.env["res.currency"].search(
            [("name", "=", dispute.currency or "")], limit=1
        ) or (order_binding.currency_id or backend.company_id.currency_id)
        message = self.env._(
            "Payment dispute %(ref)s (%(kind)s, %(status)s) on order %(order)s, "
            "invoice %(invoice)s: %(amount)s disputed, reason %(reason)s; "
            "evidence due by %(due)s.",
            ref=dispute.external_ref,
            kind=dispute.kind,
            status=dispute.status.replace("_", " "),
            order=order_binding.channel_name or dispute.order_ref or "?",
            invoice=invoice.name or "-",
            amount=currency.format(float(dispute.amount)),
            reason=(dispute.reason or "?").replace("_", " "),
            due=dispute.evidence_due_by
            and fields.Datetime.to_string(dispute.evidence_due_by.replace(tzinfo=None))
            or "-",
        )
        if dispute.is_lost:
            message += " " + self.env._(
                "The dispute is lost: book the chargeback by hand, then "
                "resolve this exception."
            )
        return message

    def _read_refund(self):
        """Override of `channel_connector`: a chargeback is rebuilt from its
        dispute, read again (or from its latest delivery)."""
        if not self.is_dispute:
            return super()._read_refund()
        backend = self.backend_id
        adapter = backend._get_adapter(priority="orders")
        dispute_ref = self.external_ref.removeprefix(DISPUTE_PREFIX)
        with backend._map_channel_errors():
            dispute = adapter.fetch_dispute(dispute_ref)
        if dispute is None:
            event = self.env["channel.event"].search(
                [
                    ("backend_id", "=", backend.id),
                    ("topic", "in", list(adapter.dispute_topics)),
                    ("resource_ref", "=", dispute_ref),
                ],
                limit=1,
            )
            dispute = adapter.parse_dispute(event.topic, event._get_payload())
        return self._chargeback_refund(backend, self.order_binding_id, dispute)
