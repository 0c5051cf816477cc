from collections import defaultdict

from odoo import fields, models

from ..const import JOB_CHANNEL_CATALOG, JOB_MAX_RETRIES

# How many unmatched SKUs the summary names (the count is always complete).
# Pages of variants one match job walks: past them it hands the channel's
# cursor to a next job, so one transaction never grows with the catalogue.
CATALOGUE_PAGES_PER_JOB = 20
UNMATCHED_SHOWN = 20


class ChannelBackend(models.Model):
    """Catalogue match: bind the channel's variants to Odoo variants by SKU.

    Odoo masters the products; nothing is created here. Matching fills what
    stock export needs and an order line cannot tell: the variant's stock
    key on the channel (inventory item, parent product; see
    `catalogue.ChannelVariant`).
    """

    _inherit = "channel.backend"

    # === FIELDS ===

    catalogue_match_message = fields.Char(compute="_compute_run_state")
    last_catalogue_match = fields.Datetime(compute="_compute_run_state")

    # === ACTION METHODS ===

    def action_match_catalogue(self):
        """Read the channel's catalogue (a job) and bind its variants by SKU."""
        self._check_manager_rights()
        for backend in self:
            backend._enqueue_catalogue_match()

    def _enqueue_catalogue_match(self, cursor=None):
        """Enqueue a catalogue match, from the channel's `cursor` if given."""
        self.ensure_one()
        return self.with_delay(
            max_retries=JOB_MAX_RETRIES,
            channel=JOB_CHANNEL_CATALOG,
            identity_key=self._identity_key("catalogue_match"),
            description=f"Match the catalogue of {self.name}",
        )._job_match_catalogue(cursor=cursor)

    # === BUSINESS METHODS ===

    def _match_catalogue(self, cursor=None, max_pages=None):
        """Walk the channel's variants page by page (at most `max_pages`,
        default `CATALOGUE_PAGES_PER_JOB`, from `cursor`) and bind them.

        A variant already bound keeps its product and gets its channel refs
        refreshed; an unbound one is bound to the variant whose internal
        reference equals its SKU in the backend's company.

        :return: {"bound": n, "refreshed": n, "unmatched": [SKU or ref],
            "cursor": where a next walk goes on, None when all was read}
        """
        self.ensure_one()
        adapter = self._get_adapter(priority="catalog")
        summary = {"bound": 0, "refreshed": 0, "unmatched": [], "other_company": []}
        seen = defaultdict(list)
        for _page in range(max_pages or CATALOGUE_PAGES_PER_JOB):
            variants, cursor = adapter.fetch_variants(cursor)
            for variant in variants:
                seen[variant.sku].append(variant.variant_ref)
            self._bind_variants(variants, summary)
            if not cursor:
                break
        summary["cursor"] = cursor
        self._record_sku_problems(seen, summary["other_company"])
        unmatched = summary["unmatched"]
        self._get_sync_status("catalogue_match").write(
            {
                "last_run_at": fields.Datetime.now(),
                "message": self.env._(
                    "%(bound)s bound, %(refreshed)s refreshed, %(unmatched)s "
                    "without an Odoo variant%(names)s",
                    bound=summary["bound"],
                    refreshed=summary["refreshed"],
                    unmatched=len(unmatched),
                    names=f": {', '.join(unmatched[:UNMATCHED_SHOWN])}"
                    if unmatched
                    else "",
                )
                + (self.env._("; more pages in a next job") if cursor else ""),
            }
        )
        return summary

    def _bind_variants(self, variants, summary):
        """Bind one page of `ChannelVariant`s (two searches, one create)."""
        Binding = self.env["channel.product.binding"]
        bindings = {
            binding.external_ref: binding
            for binding in Binding.search(
                [
                    ("backend_id", "=", self.id),
                    ("external_ref", "in", [v.variant_ref for v in variants]),
                    ("product_id.company_id", "in", (self.company_id.id, False)),
                ]
            )
        }
        skus = [v.sku for v in variants if v.sku and v.variant_ref not in bindings]
        products = {
            product.default_code: product
            for product in self.env["product.product"]
            .with_context(active_test=False)
            .search(
                [
                    ("default_code", "in", skus),
                    ("company_id", "in", (self.company_id.id, False)),
                ]
            )
        }
        self._note_other_company_skus(
            [s for s in skus if s not in products], summary["other_company"]
        )
        now = fields.Datetime.now()
        to_create = []
        for variant in variants:
            refs = {
                "sku": variant.sku,
                "product_ref": variant.product_ref,
                **self._get_variant_binding_values(variant),
            }
            binding = bindings.get(variant.variant_ref)
            if binding:
                changed = {k: v for k, v in refs.items() if (binding[k] or None) != v}
                if changed:
                    binding.write({**changed, "sync_date": now})
                    summary["refreshed"] += 1
            elif variant.sku in products:
                to_create.append(
                    {
                        **refs,
                        "backend_id": self.id,
                        "company_id": self.company_id.id,
                        "external_ref": variant.variant_ref,
                        "product_id": products[variant.sku].id,
                        "sync_date": now,
                    }
                )
            else:
                summary["unmatched"].append(variant.sku or variant.variant_ref)
        Binding.create(to_create)
        summary["bound"] += len(to_create)

    def _note_other_company_skus(self, skus, found):
        """Add to `found` the SKUs (unmatched here) that a product of another
        company carries: read in sudo, the backend's user may not see it."""
        if not skus:
            return
        products_sudo = (
            self.env["product.product"]
            .sudo()
            .with_context(active_test=False)
            .search(
                [
                    ("default_code", "in", skus),
                    ("company_id", "not in", (self.company_id.id, False)),
                ]
            )
        )
        found += sorted(set(products_sudo.mapped("default_code")))

    def _record_sku_problems(self, seen, other_company):
        """One exception per kind of SKU problem met in this walk, listing
        every variant concerned (the message counts, the detail lists all):
        channel variants without SKU, SKUs on several channel variants, and
        SKUs only another company's products carry."""
        Exception_ = self.env["channel.exception"]
        without = seen.pop(None, [])
        twice = {sku: refs for sku, refs in seen.items() if len(refs) > 1}
        problems = (
            (
                "no_sku",
                without,
                self.env._(
                    "%(count)s variants on %(backend)s have no SKU: they cannot "
                    "be bound nor their stock published.",
                    count=len(without),
                    backend=self.name,
                ),
                "\n".join(without),
            ),
            (
                "duplicate_sku",
                twice,
                self.env._(
                    "%(count)s SKUs are used by several variants on %(backend)s: "
                    "orders and stock of these variants are ambiguous.",
                    count=len(twice),
                    backend=self.name,
                ),
                "\n".join(
                    f"{sku}: {', '.join(refs)}" for sku, refs in sorted(twice.items())
                ),
            ),
            (
                "other_company_sku",
                other_company,
                self.env._(
                    "%(count)s SKUs on %(backend)s match only products of another "
                    "company: they are not bound to %(company)s.",
                    count=len(other_company),
                    backend=self.name,
                    company=self.company_id.name,
                ),
                "\n".join(other_company),
            ),
        )
        for key, found, message, detail in problems:
            if found:
                Exception_._record(
                    "catalogue_sku",
                    message,
                    backend=self,
                    key=f"sku:{key}",
                    detail=detail,
                )

    # === JOBS ===

    def _job_match_catalogue(self, cursor=None):
        """Job (catalogue channel): see `_match_catalogue`; a catalogue longer
        than `CATALOGUE_PAGES_PER_JOB` pages goes on in a next job."""
        self.ensure_one()
        if not self.active or self.state != "connected":
            return "skipped: the backend is not connected"
        with self._map_channel_errors():
            summary = self._match_catalogue(cursor)
        if summary["cursor"]:
            self._enqueue_catalogue_match(cursor=summary["cursor"])
        return self.catalogue_match_message
