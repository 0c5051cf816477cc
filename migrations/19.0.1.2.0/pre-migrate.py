"""19.0.1.2.0: an event's job applies it on its flow's channel directly.

Before, a `_job_process` job on the webhooks channel enqueued a `_job_apply`
job on the flow's channel. `_job_process` now applies the event itself: the
`_job_apply` jobs still queued become `_job_process` jobs (same event, same
channel), and the job function of `_job_apply` can go.
"""

from odoo.tools import SQL

from odoo.addons.channel_connector.sql.queries import retarget_jobs


def migrate(cr, version):
    retarget_jobs(
        cr,
        "channel.event",
        "_job_process",
        SQL("job.model_name = 'channel.event' AND job.method_name = '_job_apply'"),
    )
