"""19.0.1.2.0: run state leaves `channel_backend` (kept by Odoo when the
fields go), then its columns are dropped.

- A backfill's progress (twelve `backfill_*` columns) becomes a
  `channel.backfill` run record; the queued page jobs of a running one go on
  as that run's `_job_import_page` jobs (same page, same cursor).
- The run state of each flow (last runs, messages, the full-export request)
  becomes one `channel.sync.status` row per (backend, flow): jobs wrote it on
  the backend row, which every inserted binding, order and event locks.
"""

from psycopg2 import sql

from odoo.tools import SQL

from odoo.addons.channel_connector.sql.queries import retarget_jobs


def migrate(cr, version):
    migrate_backfills(cr)
    migrate_run_state(cr)


OLD_COLUMNS = (
    "backfill_state",
    "backfill_cursor",
    "backfill_pages",
    "backfill_total",
    "backfill_processed",
    "backfill_imported",
    "backfill_failed",
    "backfill_started_at",
    "backfill_finished_at",
    "backfill_message",
)


def migrate_backfills(cr):
    cr.execute(
        "SELECT 1 FROM information_schema.columns"
        " WHERE table_name = 'channel_backend' AND column_name = 'backfill_state'"
    )
    if not cr.fetchone():
        return
    cr.execute(
        """INSERT INTO channel_backfill
                  (backend_id, company_id, since, state, cursor, pages, total,
                   processed, started_at, finished_at, message,
                   create_uid, create_date, write_uid, write_date)
           SELECT id, company_id, COALESCE(backfill_since, backfill_started_at),
                  backfill_state, backfill_cursor, COALESCE(backfill_pages, 0),
                  COALESCE(backfill_total, 0), COALESCE(backfill_processed, 0),
                  backfill_started_at, backfill_finished_at, backfill_message,
                  1, now() AT TIME ZONE 'UTC', 1, now() AT TIME ZONE 'UTC'
             FROM channel_backend
            WHERE backfill_state != 'idle' AND backfill_started_at IS NOT NULL
        RETURNING id, backend_id"""
    )
    for backfill_id, backend_id in cr.fetchall():
        _move_page_jobs(cr, backend_id, backfill_id)
    for column in OLD_COLUMNS:
        cr.execute(f"ALTER TABLE channel_backend DROP COLUMN IF EXISTS {column}")


def _move_page_jobs(cr, backend_id, backfill_id):
    """The backend's page jobs still to run become the run's."""
    retarget_jobs(
        cr,
        "channel.backfill",
        "_job_import_page",
        SQL(
            """job.model_name = 'channel.backend'
               AND job.method_name = '_job_backfill_orders'
               AND job.records -> 'ids' = jsonb_build_array(%s)
               AND job.state IN ('wait_dependencies', 'pending', 'enqueued')""",
            backend_id,
        ),
        records=SQL(
            """jsonb_set(jsonb_set(job.records, '{model}', '"channel.backfill"'),
                         '{ids}', jsonb_build_array(%s))""",
            backfill_id,
        ),
    )


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


def migrate_run_state(cr):
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
