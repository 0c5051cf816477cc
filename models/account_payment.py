from odoo import api, fields, models
from odoo.fields import Domain

from .channel_connector_fields_mixin import CONNECTOR_FIELDS_MIXIN

CAPTURING_KINDS = ("sale", "capture")
# What ties a payment to a channel capture: idempotency (the key) and payout
# matching (the references) rely on them, so only the connector sets them.
CHANNEL_PAYMENT_FIELDS = frozenset(
    {"channel_transaction_key", "channel_transaction_ref", "channel_processor_ref"}
)


class AccountPayment(models.Model):
    """Payments of channel orders and refunds. The memo holds the processor's
    id as finance expects; the channel's transaction id and the processor's
    reference also have their own indexed fields, which payouts match on."""

    _inherit = ["account.payment", CONNECTOR_FIELDS_MIXIN]

    # === FIELDS ===

    channel_transaction_key = fields.Char(
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The channel capture this payment registers (backend, order and "
        "transaction): a capture is never registered twice.",
    )

    channel_transaction_ref = fields.Char(
        string="Channel Transaction",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The channel's id of the transaction this payment registers (e.g. "
        "the channel's order transaction), which the channel's payout lines carry.",
    )
    channel_processor_ref = fields.Char(
        string="Processor Reference",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The payment processor's id of the transaction (e.g. a Stripe "
        "charge ch_...), which the processor's payout lines carry.",
    )

    # === CRUD METHODS ===

    @api.model_create_multi
    def create(self, vals_list):
        """Override of `account` to refuse the channel fields to callers but
        the connector: a forged reference would match a payout line."""
        if not self.env.su:
            for vals in vals_list:
                self._check_writable(vals)
        return super().create(vals_list)

    def _get_refused_fields(self, field_names):
        """Override of `channel.connector.fields.mixin`: the channel fields."""
        return CHANNEL_PAYMENT_FIELDS.intersection(field_names)

    # === BUSINESS METHODS ===

    @api.model
    def _channel_register_payments(self, backend, order, invoices, binding):
        """Register each successful capture of `order` against `invoices`.

        Idempotent: a capture already registered (same
        `channel_transaction_key`) is skipped; so is one whose transaction id
        is the memo of a payment made before that key existed. A capture
        without a journal records a `missing_mapping` exception whose Retry
        pays again (the order binding's `_channel_retry`); the order's own
        import succeeding does not resolve it.

        :return: whether every capture found its journal
        """
        Exception_ = self.env["channel.exception"]
        all_paid = True
        company = invoices.company_id[:1] or backend.company_id
        for index, transaction in enumerate(order.transactions):
            if (
                transaction.kind not in CAPTURING_KINDS
                or transaction.status != "success"
            ):
                continue
            journal = self._channel_journal(
                backend, order, transaction, company, binding
            )
            if not journal:
                all_paid = False
                continue
            memo = transaction.transaction_ref or order.name
            capture = self._channel_capture_ref(transaction, index)
            key = f"{backend.id}:{order.external_ref}:{capture}"
            if self._channel_already_paid(invoices, key, transaction.transaction_ref):
                continue
            payment = self._channel_pay(invoices, journal, transaction, memo, key)
            if not transaction.transaction_ref:
                Exception_._record(
                    "payment_missing_reference",
                    self.env._(
                        "The %(gateway)s payment of order %(order)s has no "
                        "transaction id: match it to the payout by hand.",
                        gateway=transaction.gateway or "?",
                        order=order.name,
                    ),
                    backend=backend,
                    key=f"payment:{order.external_ref}:{capture}",
                    documents=[payment, invoices.partner_id[:1]],
                )
        return all_paid

    @api.model
    def _channel_journal(self, backend, order, transaction, company, binding):
        """The journal of `company` for the transaction's gateway, or an empty
        one after recording why there is none (gateway not mapped, or no
        twin of the mapped journal in the company the order was routed to)."""
        journal, mapped = self.env["channel.payment.mapping"]._find_journal(
            backend, transaction.gateway, company
        )
        if journal:
            return journal
        gateway = transaction.gateway or "?"
        if mapped:
            message = self.env._(
                "Payment gateway %(gateway)s of order %(order)s is mapped to "
                "journal %(journal)s of %(mapped_company)s, but the order was "
                "routed to %(company)s, which has no %(type)s journal with code "
                "%(code)s.",
                gateway=gateway,
                order=order.name,
                journal=mapped.display_name,
                mapped_company=mapped.company_id.name,
                company=company.name,
                type=mapped.type,
                code=mapped.code,
            )
            key = f"gateway:{transaction.gateway}:{company.id}"
        else:
            message = self.env._(
                "Payment gateway %(gateway)s of order %(order)s has no journal.",
                gateway=gateway,
                order=order.name,
            )
            key = f"gateway:{transaction.gateway}"
        self.env["channel.exception"]._record(
            "missing_mapping",
            message,
            backend=backend,
            key=f"{key}:{order.external_ref}",
            documents=[binding.sale_order_id],
            retry_target=binding,
        )
        return self.env["account.journal"]

    @api.model
    def _channel_capture_ref(self, transaction, index):
        """What tells a capture from the order's others: the channel's own
        transaction id, else the processor's, else gateway, amount and
        position in the order (two captures without ids share the order-name
        memo, so the memo cannot tell them apart)."""
        ref = transaction.external_ref or transaction.transaction_ref
        return ref or f"{transaction.gateway or '?'}:{transaction.amount}:{index}"

    @api.model
    def _channel_already_paid(self, invoices, key, transaction_ref):
        """Whether the capture of `key` has a payment that is not canceled;
        with a transaction id, a payment carrying it as memo counts too (one
        registered before payments had a key)."""
        same_capture = Domain("channel_transaction_key", "=", key)
        if transaction_ref:
            same_capture |= Domain("channel_transaction_key", "=", False) & Domain(
                "memo", "=", transaction_ref
            )
        domain = same_capture & Domain(
            [
                ("partner_id", "in", invoices.commercial_partner_id.ids),
                ("state", "!=", "canceled"),
            ]
        )
        return bool(self.search_count(domain))

    @api.model
    def _channel_pay(self, invoices, journal, transaction, memo, key):
        """Register one capture (or refund) against `invoices`; the payment
        is stamped with the capture's `key` and the channel's references."""
        currency = invoices[:1].currency_id
        if transaction.currency and transaction.currency != currency.name:
            currency = self.env["res.currency"].search(
                [("name", "=", transaction.currency)]
            )
        wizard = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoices.ids)
            .create(
                {
                    "journal_id": journal.id,
                    "amount": float(transaction.amount),
                    "currency_id": currency.id or invoices[:1].currency_id.id,
                    "communication": memo,
                    # Without a capture date, the wizard's default: today.
                    **(
                        {"payment_date": transaction.processed_at.date()}
                        if transaction.processed_at
                        else {}
                    ),
                }
            )
        )
        payments = wizard._create_payments()
        # Written by the system: the fields are read-only to users, and the
        # wizard returns the payment outside the caller's sudo (a retry runs
        # as the system on behalf of a finance user). One write: each one
        # runs the payment's hooks (tracking, checks against its entry).
        payments.sudo().write(
            {
                "channel_transaction_key": key,
                "channel_transaction_ref": transaction.external_ref or False,
                "channel_processor_ref": transaction.transaction_ref or False,
            }
        )
        return payments

    @api.model
    def _channel_find_by_ref(self, refs, company, payment_type=None):
        """Payments (not canceled) of `company` whose channel transaction id,
        processor reference or, for payments made before those fields, memo
        is one of `refs`."""
        refs = [ref for ref in refs if ref]
        if not refs:
            return self.browse()
        domain = Domain(
            [("company_id", "=", company.id), ("state", "!=", "canceled")]
        ) & (
            Domain("channel_transaction_ref", "in", refs)
            | Domain("channel_processor_ref", "in", refs)
            | Domain("memo", "in", refs)
        )
        if payment_type:
            domain &= Domain("payment_type", "=", payment_type)
        return self.search(domain, order="id")
