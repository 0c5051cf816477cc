"""19.0.1.3.0: the snapshot figure of payments without a reference keeps its
history under its new name (`kpi_payment_mismatches` named a removed type)."""


def migrate(cr, version):
    cr.execute(
        """SELECT 1 FROM information_schema.columns
            WHERE table_name = 'channel_kpi_snapshot'
              AND column_name = 'kpi_payment_mismatches'"""
    )
    if cr.fetchone():
        cr.execute(
            "ALTER TABLE channel_kpi_snapshot"
            " RENAME COLUMN kpi_payment_mismatches TO kpi_payments_unreferenced"
        )
