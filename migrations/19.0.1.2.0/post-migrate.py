"""19.0.1.2.0: the run state of each flow lives on `channel.sync.status`.

Jobs wrote it on `channel_backend`, whose row every inserted binding, order
and event locks: copy it to one status row per (backend, flow), then drop the
backend's columns (Odoo leaves them when the fields stop being stored).
"""

from psycopg2 import sql

# flow -> {status column: old channel_backend column}
RUN_STATE_COLUMNS = {
    "orders": {"last_run_at": "last_sync_orders"},
    "stock": {
        "last_run_at": "last_sync_stock",
        "full_requested": "stock_full_requested",
    },
    "catalog": {"last_run_at": "last_sync_catalog"},
    "order_pull": {"last_run_at": "last_reconciliation"},
    "catalogue_match": {
        "last_run_at": "last_catalogue_match",
        "message": "catalogue_match_message",
    },
    "stock_check": {
        "last_run_at": "last_stock_check",
        "message": "stock_check_message",
    },
    "webhooks": {"message": "webhook_check_message"},
    "connection": {"last_run_at": "last_connection_check"},
}
STATUS_COLUMNS = ("last_run_at", "message", "full_requested")


def migrate(cr, version):
    old_columns = backend_columns(cr)
    for flow, mapping in RUN_STATE_COLUMNS.items():
        copy_flow(cr, flow, {k: v for k, v in mapping.items() if v in old_columns})
    for column in sorted(old_columns):
        cr.execute(
            sql.SQL("ALTER TABLE channel_backend DROP COLUMN {}").format(
                sql.Identifier(column)
            )
        )


def backend_columns(cr):
    """The old run-state columns still on channel_backend."""
    wanted = [
        column for mapping in RUN_STATE_COLUMNS.values() for column in mapping.values()
    ]
    cr.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_name = 'channel_backend' AND column_name = ANY(%s)",
        [wanted],
    )
    return {row[0] for row in cr.fetchall()}


def copy_flow(cr, flow, mapping):
    """One status row of `flow` per backend, its columns copied from the
    backend's (`mapping`: {status column: backend column})."""
    values = [
        sql.Identifier("backend", mapping[column])
        if column in mapping
        else sql.SQL("NULL")
        for column in STATUS_COLUMNS
    ]
    conflict = sql.SQL("DO NOTHING")
    if mapping:
        conflict = sql.SQL("DO UPDATE SET {}").format(
            sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(column))
                for column in mapping
            )
        )
    cr.execute(
        sql.SQL(
            """
            INSERT INTO channel_sync_status
                   (backend_id, company_id, flow, last_run_at, message,
                    full_requested, create_uid, create_date, write_uid, write_date)
            SELECT backend.id, backend.company_id, %s, {}, {}, COALESCE({}, FALSE),
                   1, now() at time zone 'utc', 1, now() at time zone 'utc'
              FROM channel_backend backend
            ON CONFLICT (backend_id, flow) {}
            """
        ).format(*values, conflict),
        [flow],
    )
