from odoo import api, fields, models

from ..sql import queries

# Context key under which `queue.job.create` writes each job row with one
# INSERT (see `QueueJob.create`). Its value must be this very object, which no
# RPC caller can send (a context over RPC holds JSON values only), the same
# guard as queue_job's own EDIT_SENTINEL.
INSERT_JOB_ROWS = "channel_insert_job_rows"
INSERT_JOB_ROWS_SENTINEL = object()


class QueueJob(models.Model):
    _inherit = "queue.job"

    channel_event_id = fields.Many2one(
        "channel.event",
        string="Channel event",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The webhook event this job processes. Written with the job "
        "itself (`channel.event._job_store_values`), so receiving a "
        "delivery does not update its event a second time.",
    )

    @api.model_create_multi
    @api.private
    def create(self, vals_list):
        """Override of `queue_job`: with `INSERT_JOB_ROWS` in context, write
        each job row with a single INSERT.

        The webhook endpoint enqueues one job per delivery while the channel
        waits for its answer, and the ORM create of this mail.thread model
        was the largest part of that time. queue_job still decides
        everything (`Job.store`: identity keys, the no-delay mode, trapped
        jobs in tests) and builds the values (`Job._store_values`); this
        model's own fields convert them. Skipped: defaults, computed fields,
        chatter and cache, none of which a new job row uses (the test
        `test_inserted_job_row_equals_the_orm_row` compares both rows column
        by column, so an upgrade of queue_job that changes this fails it).
        """
        if not self._may_insert_job_rows() or any(
            not self._fields[name].column_type for vals in vals_list for name in vals
        ):
            return super().create(vals_list)
        return self.browse([self._insert_job_row(vals) for vals in vals_list])

    def _may_insert_job_rows(self):
        """Whether `create` may write rows by hand: only for `channel.event`'s
        own enqueuing, which runs as superuser and passes the sentinel object;
        nothing an RPC caller sends (context, values) can open this path."""
        return (
            self.env.su
            and self.env.context.get(INSERT_JOB_ROWS) is INSERT_JOB_ROWS_SENTINEL
        )

    def write(self, vals):
        """Override of `queue_job`: the link to the event is written at
        creation only. queue_job sends `_job_store_values` again with every
        state change, and the event may have been purged since."""
        if "channel_event_id" in vals:
            vals = {
                name: value
                for name, value in vals.items()
                if name != "channel_event_id"
            }
        return super().write(vals)

    def _insert_job_row(self, vals):
        """Insert one job row from `Job._store_values` values; return its id."""
        values = dict(vals)
        if self._log_access:
            now = fields.Datetime.now()
            values.update(
                create_uid=self.env.uid,
                create_date=now,
                write_uid=self.env.uid,
                write_date=now,
            )
        columns = [self._fields[name] for name in values]
        return queries.insert_row(
            self.env.cr,
            self._table,
            [field.name for field in columns],
            [
                field.convert_to_column_insert(values[field.name], self, values)
                for field in columns
            ],
        )
