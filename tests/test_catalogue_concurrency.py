"""Catalogue marks on real committed cursors: a product change committed
while a publishing job runs is never acknowledged by it, and never waits on
the listing rows the job writes."""

from odoo.tests import tagged

from .test_concurrent_writes import CommittedCase

LISTING = "channel.product.listing"


@tagged("post_install", "-at_install")
class TestCatalogueConcurrency(CommittedCase):
    """A listing, its product and backend, committed, then deleted."""

    def setUp(self):
        super().setUp()
        with self.db.cursor() as cr:
            env = self._env(cr)
            backend = self._create_backend(env, "Catalogue contention test")
            template = env["product.template"].create({"name": "Contended shirt"})
            listing = env[LISTING].create(
                {"backend_id": backend.id, "product_tmpl_id": template.id}
            )
            listing._acknowledge(listing._read_marks())
            self.backend_id, self.template_id = backend.id, template.id
            self.listing_id = listing.id
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.db.cursor() as cr:
            env = self._env(cr)
            env["channel.backend"].browse(self.backend_id).unlink()
            env["product.template"].browse(self.template_id).unlink()

    def _dirty(self):
        with self.db.cursor() as cr:
            return self._env(cr)[LISTING].browse(self.listing_id).dirty

    def test_change_committed_during_a_publish_stays_dirty(self):
        """One change numbered before the job's read but committed after its
        snapshot, one made after the read: both survive its acknowledgement."""
        cursors = [self.db.cursor() for _name in range(4)]
        late, seen, job, after = cursors
        try:
            self._env(late)[LISTING]._mark_templates_dirty([self.template_id])
            self._env(seen)[LISTING]._mark_templates_dirty([self.template_id])
            seen.commit()
            listing = self._env(job)[LISTING].browse(self.listing_id)
            marks = listing._read_marks()
            self.assertTrue(marks[self.listing_id])
            late.commit()
            self._env(after)[LISTING]._mark_templates_dirty([self.template_id])
            after.commit()
            listing.write({"state": "published"})
            listing._acknowledge(marks)
            job.commit()
        finally:
            for cr in cursors:
                cr.close()
        self.assertTrue(self._dirty(), "the changes made meanwhile wait")
        with self.db.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM channel_product_listing_mark"
                " WHERE listing_id = %s",
                [self.listing_id],
            )
            self.assertEqual(cr.fetchone()[0], 2, "only the mark read is gone")

    def test_marking_never_waits_on_the_listing_a_job_writes(self):
        with self.db.cursor() as job, self.db.cursor() as change:
            listing = self._env(job)[LISTING].browse(self.listing_id)
            marks = listing._read_marks()
            listing.write({"state": "published", "message": "sent"})
            job.flush()
            # The job holds the listing's row lock until it commits.
            change.execute("SET LOCAL lock_timeout = '2s'")
            self._env(change)[LISTING]._mark_templates_dirty([self.template_id])
            change.commit()
            listing._acknowledge(marks)
            job.commit()
        self.assertTrue(self._dirty())
