"""Every hand-written query of channel_connector, each saying why it is not
ORM code; tests/test_sql_equivalence.py checks each against the ORM."""

from odoo.tools import SQL

# === MIGRATIONS ===


def retarget_jobs(cr, model, method, where, records=None):
    """Make the queue_job rows matching `where` run `model`.`method`.

    Raw SQL: a migration moves jobs whose old method the new code lacks.
    """
    cr.execute(
        SQL(
            """UPDATE queue_job job
                  SET model_name = %(model)s,
                      method_name = %(method)s,
                      channel_method_name = %(channel_method)s,
                      records = %(records)s,
                      job_function_id = (
                          SELECT function.id
                            FROM queue_job_function function
                            JOIN ir_model model ON model.id = function.model_id
                           WHERE model.model = %(model)s
                             AND function.method = %(method)s)
                WHERE %(where)s""",
            model=model,
            method=method,
            channel_method=f"<{model}>.{method}",
            records=records or SQL("job.records"),
            where=where,
        )
    )
