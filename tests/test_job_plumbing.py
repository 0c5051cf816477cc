import re
from pathlib import Path

from odoo.tests import tagged

from odoo.addons.queue_job.controllers.main import RunJobController
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import FAILED, Job
from odoo.addons.queue_job.tests.common import trap_jobs

from ..adapters.exceptions import (
    ChannelAuthError,
    ChannelError,
    ChannelPayloadError,
    ChannelRetryableError,
    ChannelThrottledError,
)
from ..const import IDENTITY_KEY_PREFIX, JOB_MAX_RETRIES
from .common import ChannelCommon
from .test_channel_http import SimulatorCommon


@tagged("post_install", "-at_install")
class TestChannelErrorMapping(ChannelCommon):
    """One helper turns channel errors into queue_job retries."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._prepare_backend("generic")

    def _mapped(self, error, **options):
        with (
            self.assertRaises(RetryableJobError) as caught,
            self.backend._map_channel_errors(**options),
        ):
            raise error
        self.assertIs(caught.exception.__cause__, error)
        return caught.exception

    def test_throttling_retries_after_the_channels_delay_uncounted(self):
        retry = self._mapped(ChannelThrottledError("slow down", retry_after=42))
        self.assertEqual(retry.seconds, 42)
        self.assertTrue(retry.ignore_retry)

    def test_transient_error_retries_after_its_delay_counted(self):
        retry = self._mapped(ChannelRetryableError("502", retry_after=7))
        self.assertEqual(retry.seconds, 7)
        self.assertFalse(retry.ignore_retry)

    def test_transient_error_without_delay_retries_after_the_default(self):
        self.assertEqual(self._mapped(ChannelRetryableError("502")).seconds, 60)
        retry = self._mapped(ChannelRetryableError("502"), delay=30)
        self.assertEqual(retry.seconds, 30)

    def test_other_errors_pass_through(self):
        for error in (ChannelPayloadError("bad"), ValueError("bug")):
            with (
                self.assertRaises(type(error)) as caught,
                self.backend._map_channel_errors(),
            ):
                raise error
            self.assertIs(caught.exception, error)


@tagged("post_install", "-at_install")
class TestIdentityKeys(ChannelCommon):
    """Every job the connector enqueues is named by the same helper."""

    def _enqueue_everything(self, backend, event):
        backend._enqueue_stock_export()
        backend._enqueue_catalogue_match()
        backend._enqueue_stock_check()
        backend._enqueue_reconciliation()
        self.env["channel.backend"]._cron_check_connections()
        event._enqueue()

    def _backend_and_event(self):
        backend = self._prepare_backend(
            "generic", state="connected", export_stock=True, import_orders=True
        )
        event = self.env["channel.event"].create(
            {
                "backend_id": backend.id,
                "topic": "orders/create",
                "flow": "orders",
                "dedupe_key": "identity-key-test",
                "state": "failed",
            }
        )
        return backend, event

    def test_keys_start_with_the_prefix_and_are_stable(self):
        backend, event = self._backend_and_event()
        with trap_jobs() as trap:
            self._enqueue_everything(backend, event)
            keys = [job.identity_key for job in trap.enqueued_jobs]
            self._enqueue_everything(backend, event)
            self.assertEqual(
                [job.identity_key for job in trap.enqueued_jobs],
                keys,
                "the same work again makes no second job",
            )
        self.assertEqual(len(keys), 6)
        for key in keys:
            self.assertTrue(key.startswith(f"{IDENTITY_KEY_PREFIX}."), key)
        self.assertIn(f"{IDENTITY_KEY_PREFIX}.stock_export.{backend.id}", keys)
        self.assertIn(f"{IDENTITY_KEY_PREFIX}.event.{event.id}.0", keys)

    def test_jobs_ride_out_outages_longer_than_queue_jobs_five_retries(self):
        backend, event = self._backend_and_event()
        with trap_jobs() as trap:
            self._enqueue_everything(backend, event)
        self.assertEqual(len(trap.enqueued_jobs), 6)
        for job in trap.enqueued_jobs:
            self.assertEqual(job.max_retries, JOB_MAX_RETRIES, job.description)

    def test_every_enqueuing_passes_the_connector_retry_limit(self):
        """Source guard: a `with_delay(` in models/ without `max_retries`
        would fail after queue_job's 5 retries, minutes into an outage."""
        folder = Path(__file__).resolve().parent.parent / "models"
        missing = []
        for path in sorted(folder.glob("*.py")):
            text = path.read_text()
            for match in re.finditer(r"with_delay\((.*?)\)\s*\.?\s*_job_", text, re.S):
                if "max_retries=JOB_MAX_RETRIES" not in match.group(1):
                    line = text.count("\n", 0, match.start()) + 1
                    missing.append(f"{path.name}:{line}")
        self.assertEqual(missing, [])


@tagged("post_install", "-at_install")
class TestFailedJobHook(SimulatorCommon):
    """A job that fails, run the way queue_job's runner runs it: the on_fail
    hook of data/queue_job_data.xml records the exception."""

    def setUp(self):
        super().setUp()
        # The runner handles a failure on a cursor of its own.
        self.enterContext(self.enter_registry_test_mode())

    def _run_failing_job(self, error_class):
        job = Job.load(self.env, self.shopify.with_delay()._job_sync_webhooks().uuid)
        job.set_started()
        job.store()
        # Not assertRaises: its savepoint would roll back what the runner
        # wrote on failure.
        raised = None
        try:
            RunJobController._runjob(self.env, job)
        except ChannelError as exc:
            raised = exc
        self.assertIsInstance(raised, error_class)
        self.assertEqual(Job.load(self.env, job.uuid).state, FAILED)
        return self.env["channel.exception"].search(
            [("backend_id", "=", self.shopify.id)]
        )

    def test_failed_job_records_an_api_error(self):
        self.sim.state.inject("shopify", "5xx", 1, status=422)
        exception = self._run_failing_job(ChannelPayloadError)
        self.assertEqual(exception.exception_type, "api_error")
        self.assertIn("HTTP 422", exception.name)

    def test_job_refused_credentials_records_an_auth_error(self):
        self.shopify.shopify_access_token = "revoked"
        exception = self._run_failing_job(ChannelAuthError)
        self.assertEqual(exception.exception_type, "auth_error")
