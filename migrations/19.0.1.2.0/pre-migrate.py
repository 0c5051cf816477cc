"""19.0.1.2.0: an event's job applies it on its flow's channel directly.

Before, a `_job_process` job on the webhooks channel enqueued a `_job_apply`
job on the flow's channel. `_job_process` now applies the event itself: the
`_job_apply` jobs still queued become `_job_process` jobs (same event, same
channel), and the job function of `_job_apply` can go.
"""


def migrate(cr, version):
    cr.execute(
        """UPDATE queue_job job
              SET method_name = '_job_process',
                  channel_method_name = '<channel.event>._job_process',
                  job_function_id = (
                      SELECT function.id
                        FROM queue_job_function function
                        JOIN ir_model model ON model.id = function.model_id
                       WHERE model.model = 'channel.event'
                         AND function.method = '_job_process')
            WHERE job.model_name = 'channel.event'
              AND job.method_name = '_job_apply'"""
    )
