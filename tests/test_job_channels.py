from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from ..const import (
    JOB_CHANNEL_CATALOG,
    JOB_CHANNEL_ORDERS,
    JOB_CHANNEL_STOCK,
    JOB_CHANNEL_WEBHOOKS,
)
from .common import ChannelCommon


@tagged("post_install", "-at_install")
class TestJobChannels(ChannelCommon):
    def test_flow_channels_exist_under_root(self):
        channels = self.env["queue.job.channel"].search([])
        names = set(channels.mapped("complete_name"))
        for name in (
            JOB_CHANNEL_ORDERS,
            JOB_CHANNEL_STOCK,
            JOB_CHANNEL_CATALOG,
            JOB_CHANNEL_WEBHOOKS,
        ):
            self.assertIn(name, names)

    def test_connection_check_job_runs_on_catalog_channel_once(self):
        backend = self._prepare_backend("generic")
        backend.state = "connected"
        with trap_jobs() as trap:
            self.env["channel.backend"]._cron_check_connections()
            self.env["channel.backend"]._cron_check_connections()
            jobs = trap.enqueued_jobs
            mine = [job for job in jobs if job.recordset == backend]
            self.assertEqual(len(mine), 1, "the identity key deduplicates the work")
            self.assertEqual(mine[0].channel, JOB_CHANNEL_CATALOG)
            self.assertEqual(
                mine[0].identity_key, f"channel_connector.check_connection.{backend.id}"
            )
            trap.perform_enqueued_jobs()
        self.assertEqual(backend.state, "connected")
        self.assertTrue(backend.last_connection_check)

    def test_connection_check_job_skips_disabled_backend(self):
        backend = self._prepare_backend("generic")
        backend.state = "disabled"
        self.assertIn("skipped", backend._job_check_connection())
        self.assertFalse(backend.last_connection_check)
