"""Purge of the event inbox: per-backend retention, failed events kept while an
exception about them is open, bounded batches per cron run."""

from datetime import datetime, timedelta

from odoo.tests import freeze_time, tagged

from .common import ChannelCommon

NOW = datetime(2026, 11, 30, 3, 0, 0)


@tagged("post_install", "-at_install")
class TestEventRetention(ChannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].set_param(
            "channel_connector.event_retention_days", "30"
        )
        cls.shopify = cls._prepare_backend("shopify")
        cls.woo = cls._prepare_backend("woocommerce", event_retention_days=7)
        cls.Event = cls.env["channel.event"]
        cls.cron = cls.env.ref("channel_connector.ir_cron_channel_purge_events")

    def _event(self, backend, days_old, state="done", **values):
        return self.Event.create(
            {
                "backend_id": backend.id,
                "topic": "orders/create",
                "dedupe_key": f"{state}:{days_old}:{len(self.Event.search([]))}",
                "state": state,
                "received_at": NOW - timedelta(days=days_old),
                **values,
            }
        )

    def _failed_with_exception(self, backend, days_old, exception_state):
        event = self._event(backend, days_old, "failed")
        exception = self.env["channel.exception"]._record(
            "validation",
            f"Event {event.id} could not be applied",
            backend=backend,
            retry_target=event,
        )
        exception.state = exception_state
        return event

    def _purge(self, **limits):
        with freeze_time(NOW):
            return self.Event._cron_purge(**limits)

    def _triggers(self):
        return self.env["ir.cron.trigger"].search_count(
            [("cron_id", "=", self.cron.id)]
        )

    def test_new_backend_starts_from_the_system_parameter(self):
        self.assertEqual(self.shopify.event_retention_days, 30)
        self.env["ir.config_parameter"].set_param(
            "channel_connector.event_retention_days", "90"
        )
        self.assertEqual(self._prepare_backend("generic").event_retention_days, 90)
        self.assertEqual(self.shopify.event_retention_days, 30, "set once, at creation")

    def test_processed_events_past_retention_are_purged_recent_kept(self):
        old = (
            self._event(self.shopify, 31)
            | self._event(self.shopify, 40, "ignored")
            | self._event(self.shopify, 35, "duplicate")
        )
        recent = self._event(self.shopify, 29)
        pending = self._event(self.shopify, 60, "queued") | self._event(
            self.shopify, 60, "received", flow="orders"
        )
        self.assertEqual(self._purge(), 3)
        self.assertFalse(old.exists())
        self.assertEqual(recent.exists(), recent)
        self.assertEqual(pending.exists(), pending, "not processed yet")

    def test_failed_events_go_once_their_exceptions_are_closed(self):
        still_open = self._failed_with_exception(self.shopify, 45, "open")
        in_progress = self._failed_with_exception(self.shopify, 45, "in_progress")
        resolved = self._failed_with_exception(self.shopify, 45, "resolved")
        ignored = self._failed_with_exception(self.shopify, 45, "ignored")
        recent_resolved = self._failed_with_exception(self.shopify, 5, "resolved")
        self.assertEqual(self._purge(), 2)
        self.assertFalse(resolved.exists())
        self.assertFalse(ignored.exists())
        self.assertTrue(still_open.exists())
        self.assertTrue(in_progress.exists())
        self.assertTrue(recent_resolved.exists())

    def test_failed_event_with_one_open_exception_among_resolved_is_kept(self):
        event = self._failed_with_exception(self.shopify, 45, "resolved")
        self.env["channel.exception"]._record(
            "api_error",
            "Processing failed again",
            backend=self.shopify,
            retry_target=event,
        )
        self.assertEqual(self._purge(), 0)
        self.assertTrue(event.exists())

    def test_each_backend_keeps_its_own_number_of_days(self):
        shopify_ten_days = self._event(self.shopify, 10)
        woo_ten_days = self._event(self.woo, 10)
        woo_six_days = self._event(self.woo, 6)
        woo_failed = self._failed_with_exception(self.woo, 8, "resolved")
        self.assertEqual(self._purge(), 2)
        self.assertTrue(shopify_ten_days.exists(), "Shopify keeps 30 days")
        self.assertFalse(woo_ten_days.exists(), "WooCommerce keeps 7 days")
        self.assertFalse(woo_failed.exists())
        self.assertTrue(woo_six_days.exists())

    def test_archived_backend_events_are_purged_too(self):
        event = self._event(self.woo, 10)
        self.woo.active = False
        self.assertEqual(self._purge(), 1)
        self.assertFalse(event.exists())

    def test_a_run_is_bounded_and_triggers_itself_for_the_rest(self):
        events = self.Event.browse()
        for _index in range(5):
            events |= self._event(self.woo, 10)
        triggers = self._triggers()
        self.assertEqual(self._purge(batch_size=2, max_batches=2), 4)
        self.assertEqual(len(events.exists()), 1, "the newest ids remain")
        self.assertEqual(self._triggers(), triggers + 1, "the cron runs again soon")
        self.assertEqual(self._purge(batch_size=2, max_batches=2), 1)
        self.assertFalse(events.exists())
        self.assertEqual(self._triggers(), triggers + 1, "nothing left: no trigger")
