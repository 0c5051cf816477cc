"""19.0.1.4.0: payments get the channel's transaction id in their own field.

Payments registered before it have it only inside `channel_transaction_key`:
`<backend>:<order>:<transaction>` for a capture and
`<backend>:refund:<refund>:<transaction>` for a refund payment, where the
transaction part is the channel's id when the channel gave one (keys built
from a gateway, an amount and a position have more parts and are left
alone). The processor's reference is not filled: it is the memo of those
payments, which payouts also match on.
"""


def migrate(cr, version):
    fill_channel_transaction_refs(cr)


def fill_channel_transaction_refs(cr):
    cr.execute(
        """
        UPDATE account_payment
           SET channel_transaction_ref = split_part(channel_transaction_key, ':', 3)
         WHERE channel_transaction_ref IS NULL
           AND channel_transaction_key ~ '^[0-9]+:[^:]+:[^:]+$'
           AND split_part(channel_transaction_key, ':', 2) <> 'refund'
        """
    )
    cr.execute(
        """
        UPDATE account_payment
           SET channel_transaction_ref = split_part(channel_transaction_key, ':', 4)
         WHERE channel_transaction_ref IS NULL
           AND channel_transaction_key ~ '^[0-9]+:refund:[^:]+:[^:]{4,}$'
        """
    )
