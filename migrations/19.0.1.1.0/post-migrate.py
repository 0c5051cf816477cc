"""19.0.1.1.0: an event's jobs are found through `queue_job.channel_event_id`.

Before, the event kept the uuid of its latest job (`channel_event.job_uuid`,
a column Odoo leaves in place when the field goes): link those jobs, then
drop the column.
"""


def migrate(cr, version):
    cr.execute(
        "SELECT 1 FROM information_schema.columns"
        " WHERE table_name = 'channel_event' AND column_name = 'job_uuid'"
    )
    if not cr.fetchone():
        return
    cr.execute(
        """UPDATE queue_job job
              SET channel_event_id = event.id
             FROM channel_event event
            WHERE job.uuid = event.job_uuid
              AND job.channel_event_id IS NULL"""
    )
    cr.execute("ALTER TABLE channel_event DROP COLUMN job_uuid")
