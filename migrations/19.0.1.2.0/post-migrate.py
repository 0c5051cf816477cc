"""19.0.1.2.0: a backfill's progress lives on its own `channel.backfill` run.

Before, the run state was twelve `backfill_*` columns of `channel_backend`
(kept by Odoo when the fields go): each backfill started becomes a run record,
the queued page jobs of a running one go on as that run's
`_job_import_page` jobs (same page, same cursor), then the columns are dropped.
"""

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


def migrate(cr, version):
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
    cr.execute(
        """UPDATE queue_job job
              SET model_name = 'channel.backfill',
                  method_name = '_job_import_page',
                  channel_method_name = '<channel.backfill>._job_import_page',
                  records = jsonb_set(
                      jsonb_set(job.records, '{model}', '"channel.backfill"'),
                      '{ids}', jsonb_build_array(%(backfill)s)),
                  job_function_id = (
                      SELECT function.id
                        FROM queue_job_function function
                        JOIN ir_model model ON model.id = function.model_id
                       WHERE model.model = 'channel.backfill'
                         AND function.method = '_job_import_page')
            WHERE job.model_name = 'channel.backend'
              AND job.method_name = '_job_backfill_orders'
              AND job.records -> 'ids' = jsonb_build_array(%(backend)s)
              AND job.state IN ('wait_dependencies', 'pending', 'enqueued')""",
        {"backfill": backfill_id, "backend": backend_id},
    )
