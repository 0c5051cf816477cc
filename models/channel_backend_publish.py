import hashlib
import json
from dataclasses import asdict, dataclass, field

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.fields import Domain
from odoo.tools import plaintext2html

from odoo.addons.base.models.res_partner import _lang_get
from odoo.addons.queue_job.exception import RetryableJobError

from ..adapters.catalogue import (
    ChannelVariant,
    PriceUpdate,
    ProductData,
    VariantData,
    product_handle,
)
from ..adapters.exceptions import ChannelPayloadError
from ..adapters.values import missing_fields, outbound, outbound_money
from ..const import JOB_CHANNEL_CATALOG, JOB_MAX_RETRIES
from ..sql import queries

# First key of the advisory lock that lets one publishing job per backend run.
CATALOGUE_PUBLISH_LOCK = 74_100_002
# Listings one publishing job reads at a time (keyset pages, flat memory).
PUBLISH_CHUNK = 100
# What a variant cannot be published without, as `VariantData` names it.
REQUIRED_VARIANT_FIELDS = ("sku", "price")
# Backend settings that change what every listing of the backend publishes.
CATALOGUE_PUBLISHING_FIELDS = frozenset(
    {
        "catalogue_pricelist_id",
        "catalogue_compare_pricelist_id",
        "catalogue_lang",
        "catalogue_categ_ids",
        "catalogue_tag_ids",
        "catalogue_publish_images",
    }
)
MANAGER_GROUP = "channel_connector.group_channel_manager"


class ChannelBackend(models.Model):
    """Catalogue publishing: Odoo's products, their variants and prices out
    to the channel, sending only what changed since the channel last
    acknowledged it (docs/catalogue.rst)."""

    _inherit = "channel.backend"

    # === FIELDS ===

    publish_catalogue = fields.Boolean(
        string="Publish the catalogue",
        help="Create and update on the channel the products sold on it: those "
        "whose 'Sell on' names this channel, or in its categories or tags.",
    )
    catalogue_pricelist_id = fields.Many2one(
        "product.pricelist",
        string="Price list",
        check_company=True,
        help="Prices published to the channel (its currency must be the "
        "channel's). Empty: the sales price.",
    )
    catalogue_compare_pricelist_id = fields.Many2one(
        "product.pricelist",
        string="Compare-at price list",
        check_company=True,
        help="Optional 'was' price shown struck through; only published when "
        "above the price.",
    )
    catalogue_lang = fields.Selection(
        _lang_get,
        string="Catalogue language",
        help="Language of the published titles and descriptions. Empty: the "
        "company's language.",
    )
    catalogue_categ_ids = fields.Many2many(
        "product.category",
        string="Publish categories",
        help="Products of these categories (and their subcategories) are sold "
        "on this channel.",
    )
    catalogue_tag_ids = fields.Many2many(
        "product.tag",
        string="Publish product tags",
        help="Products with one of these tags are sold on this channel.",
    )
    catalogue_listing_ids = fields.One2many("channel.product.listing", "backend_id")
    catalogue_edit_policy = fields.Selection(
        [("overwrite", "Overwrite with Odoo's"), ("keep", "Keep and flag")],
        string="Edits made on the channel",
        default="overwrite",
        required=True,
        help="A title or price changed on the channel while Odoo is the master: "
        "publish Odoo's again, or keep the channel's and flag the difference.",
    )

    # === CRUD METHODS ===

    def write(self, vals):
        """Override of `channel_connector`: a new price list, language or
        selection rule changes what the listings publish."""
        result = super().write(vals)
        if CATALOGUE_PUBLISHING_FIELDS & set(vals):
            self.env["channel.product.listing"]._mark_backends_dirty(self)
        return result

    # === ACTION METHODS ===

    def action_publish_catalogue(self, full=False):
        """Publish what changed now (a job); `full`: send every product again,
        whatever the channel acknowledged. Channel managers only."""
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(
                self.env._("Only channel managers publish the catalogue.")
            )
        self.check_access("write")
        for backend_sudo in self.sudo():
            if full:
                backend_sudo._forget_acknowledged()
            backend_sudo._enqueue_catalogue_publish()
        return True

    def action_publish_catalogue_full(self):
        """Send every product of the catalogue again (a job)."""
        return self.action_publish_catalogue(full=True)

    # === BUSINESS METHODS ===

    def _enqueue_catalogue_publish(self):
        """Enqueue the publishing job of this backend (one pending at most)."""
        self.ensure_one()
        return self.with_delay(
            max_retries=JOB_MAX_RETRIES,
            channel=JOB_CHANNEL_CATALOG,
            identity_key=self._identity_key("catalogue_publish"),
            description=f"Publish the catalogue to {self.name}",
        )._job_publish_catalogue()

    def _forget_acknowledged(self):
        """Full resync: forget every hash, so the next job sends everything."""
        self.ensure_one()
        self._sync_listings()
        self.catalogue_listing_ids.write(
            {"dirty": True, "payload_hash": False, "image_checksum": False}
        )
        self.env["channel.product.binding"].search(
            [("backend_id", "=", self.id)]
        ).write({"catalogue_price_hash": False})

    def _catalogue_template_domain(self):
        """The products sold on this channel: its 'Sell on' products, or
        those its categories or tags select; sellable, of its company."""
        self.ensure_one()
        rules = [Domain("channel_sell_on_ids", "in", self.ids)]
        if self.catalogue_categ_ids:
            rules.append(Domain("categ_id", "child_of", self.catalogue_categ_ids.ids))
        if self.catalogue_tag_ids:
            rules.append(Domain("product_tag_ids", "in", self.catalogue_tag_ids.ids))
        return Domain.OR(rules) & Domain(
            [("sale_ok", "=", True), ("company_id", "in", (self.company_id.id, False))]
        )

    def _sync_listings(self):
        """Create the missing listings of the products sold on this channel."""
        self.ensure_one()
        Listing = self.env["channel.product.listing"]
        templates = self.env["product.template"].search(
            self._catalogue_template_domain()
        )
        listed = set(Listing.search([("backend_id", "=", self.id)]).product_tmpl_id.ids)
        Listing.create(
            [
                {"backend_id": self.id, "product_tmpl_id": template_id}
                for template_id in templates.ids
                if template_id not in listed
            ]
        )
        return templates

    def _catalogue_lang(self):
        self.ensure_one()
        return self.catalogue_lang or self.company_id.partner_id.lang or "en_US"

    def _publish_catalogue(self, adapter):
        """Publish the dirty listings, PUBLISH_CHUNK at a time: each chunk's
        products in one `publish_products` and its price-only changes in one
        `update_prices`, so the adapter batches them as the channel allows.

        :return: {calls, published, prices, unchanged, skipped, refused,
            reads (of the store's settings, once a run with something to send)}
        """
        self.ensure_one()
        sold = set(self._sync_listings().ids)
        totals = dict.fromkeys(
            (
                "calls",
                "published",
                "prices",
                "unchanged",
                "skipped",
                "refused",
                "reads",
            ),
            0,
        )
        Listing = self.env["channel.product.listing"]
        last_id, checked = 0, False
        while listings := Listing.search(
            [("backend_id", "=", self.id), ("dirty", "=", True), ("id", ">", last_id)],
            order="id",
            limit=PUBLISH_CHUNK,
        ):
            last_id = listings[-1].id
            # Read before the products: a change committed after this read
            # adds a mark this acknowledgement spares (the listing stays dirty).
            marks = listings._read_marks()
            prices = self._catalogue_prices(listings.product_tmpl_id)
            plans = [self._plan_listing(listing, sold, prices) for listing in listings]
            if not checked and any(p.kind in ("published", "prices") for p in plans):
                # Only when something is to be sent: nothing changed, no call.
                totals["reads"] = adapter.store_settings_reads
                checked = True
                if not self._check_store_currency(adapter):
                    totals["skipped"] += len(plans)
                    return totals
            for key, count in self._send_plans(adapter, plans).items():
                totals[key] += count
            Listing._acknowledge(marks)
        return totals

    def _catalogue_currencies(self):
        """The currencies the published prices are in (the price lists',
        the company's sales prices without a price list)."""
        currencies = self.env["res.currency"]
        for pricelist in (
            self.catalogue_pricelist_id,
            self.catalogue_compare_pricelist_id,
        ):
            currencies |= pricelist.currency_id
        if not self.catalogue_pricelist_id:
            currencies |= self.company_id.currency_id
        return currencies

    def _check_store_currency(self, adapter):
        """False, with a `catalogue_skipped` exception saying why, when a
        price would leave in another currency than the store's: nothing is
        sent and the listings stay to publish once the setting is fixed."""
        store = adapter.fetch_store_settings().currency
        wrong = self._catalogue_currencies().filtered(lambda c: c.name != store)
        if not wrong:
            return True
        self.env["channel.exception"]._record(
            "catalogue_skipped",
            self.env._(
                "Nothing was published to %(backend)s: its prices are in "
                "%(currencies)s, the store sells in %(store)s. Choose a price "
                "list in %(store)s.",
                backend=self.name,
                currencies=", ".join(wrong.mapped("name")),
                store=store or self.env._("a currency it does not say"),
            ),
            backend=self,
            key=f"catalogue:currency:{self.id}",
        )
        return False

    def _catalogue_prices(self, templates):
        """({variant id: price}, {variant id: compare-at price}) in the
        price lists' currencies, for every variant of `templates`."""
        variants = templates.product_variant_ids
        pricelist = self.catalogue_pricelist_id
        if pricelist:
            prices = pricelist._get_products_price(variants, quantity=1.0)
        else:
            prices = {variant.id: variant.lst_price for variant in variants}
        compare = {}
        if self.catalogue_compare_pricelist_id:
            compare = self.catalogue_compare_pricelist_id._get_products_price(
                variants, quantity=1.0
            )
        return prices, compare

    def _plan_listing(self, listing, sold, prices):
        """What one dirty listing needs: a `ListingPlan` whose `kind` is
        "published" (anything but prices changed, or never published),
        "prices" (only prices changed), "unchanged" or "skipped"."""
        template = listing.product_tmpl_id
        is_sold = template.id in sold and template.active
        if not is_sold and not listing.external_ref:
            listing.write({"state": "pending"})
            return ListingPlan("unchanged", listing)
        data, bindings, missing = self._catalogue_product_data(listing, prices, is_sold)
        if missing:
            self._record_catalogue_skip(listing, missing)
            return ListingPlan("skipped", listing)
        plan = ListingPlan(
            "published", listing, data, bindings, _hash(_without_prices(data))
        )
        plan.price_hashes = {
            variant: _hash([item.price, item.compare_at_price])
            for variant, item in zip(bindings, data.variants, strict=True)
        }
        if (
            listing.external_ref
            and listing.payload_hash == plan.product_hash
            and all(bindings.values())
        ):
            changed = [
                variant
                for variant, binding in bindings.items()
                if binding.catalogue_price_hash != plan.price_hashes[variant]
            ]
            plan.kind = "prices" if changed else "unchanged"
            plan.changed = changed
        if self.catalogue_publish_images and self.supports_catalogue_images:
            self._plan_images(plan)
        return plan

    def _send_plans(self, adapter, plans):
        """Send a chunk's plans: products in one `publish_products`, prices
        in one `update_prices`. :return: {totals key: count}"""
        counts = {"calls": 0}
        for plan in plans:
            counts[plan.kind] = counts.get(plan.kind, 0) + 1
        to_publish = [plan for plan in plans if plan.kind == "published"]
        if to_publish:
            results, calls = adapter.publish_products([p.data for p in to_publish])
            counts["calls"] += calls
            for plan, result in zip(to_publish, results, strict=True):
                if isinstance(result, ChannelPayloadError):
                    self._record_catalogue_refusal(plan.listing, result)
                    counts["published"] -= 1
                    counts["refused"] = counts.get("refused", 0) + 1
                else:
                    self._apply_published(plan, result)
        to_price = [plan for plan in plans if plan.kind == "prices"]
        if to_price:
            counts["calls"] += self._send_prices(adapter, to_price, counts)
        return counts

    def _send_prices(self, adapter, plans, counts):
        """One `update_prices` for the changed variants of `plans`."""
        updates = [
            PriceUpdate(
                variant_ref=plan.bindings[variant].external_ref,
                price=item.price,
                compare_at_price=item.compare_at_price,
                product_ref=outbound(plan.bindings[variant].product_ref),
            )
            for plan in plans
            for variant, item in zip(plan.bindings, plan.data.variants, strict=True)
            if variant in plan.changed
        ]
        calls, refused = adapter.update_prices(updates)
        now = fields.Datetime.now()
        for plan in plans:
            refs = {outbound(plan.bindings[v].product_ref) for v in plan.changed}
            refs |= {plan.bindings[v].external_ref for v in plan.changed}
            reason = next((refused[ref] for ref in refs if ref in refused), None)
            if reason:
                self._record_catalogue_refusal(
                    plan.listing, ChannelPayloadError(reason)
                )
                counts["prices"] -= 1
                counts["refused"] = counts.get("refused", 0) + 1
                continue
            self._store_price_hashes(
                {v: plan.bindings[v] for v in plan.changed}, plan.price_hashes
            )
            plan.listing.write(
                {
                    "state": "published",
                    "last_sent_at": now,
                    "message": self.env._(
                        "%(count)s prices published", count=len(plan.changed)
                    ),
                }
            )
        return calls

    def _catalogue_product_data(self, listing, prices, is_sold):
        """The `ProductData` of a listing, in the backend's language.

        :return: (ProductData, {variant: its binding or an empty recordset},
            [(variant, [missing field names])])
        """
        template = listing.product_tmpl_id.with_context(lang=self._catalogue_lang())
        variants = template.product_variant_ids
        lines = template.attribute_line_ids.filtered(
            lambda line: line.attribute_id.create_variant != "no_variant"
        )
        bindings = self._catalogue_bindings(variants)
        price_map, compare_map = prices
        currency = (self.catalogue_pricelist_id or template).currency_id
        options, variant_data, missing = [], [], []
        used_values = variants.product_template_attribute_value_ids
        for line in lines:
            # In the order of the product's values, not of its variants.
            used = line.product_template_value_ids.filtered(lambda v: v in used_values)
            if used:
                options.append((line.attribute_id.name, tuple(used.mapped("name"))))
        option_lines = [
            line for line in lines if line.attribute_id.name in dict(options)
        ]
        for variant in variants:
            values = self._catalogue_variant_values(
                variant, option_lines, currency, price_map, compare_map
            )
            gaps = missing_fields(values, REQUIRED_VARIANT_FIELDS)
            if gaps:
                missing.append((variant, gaps))
                continue
            binding = bindings[variant]
            values["variant_ref"] = outbound(binding.external_ref)
            variant_data.append(VariantData(**values))
        data = ProductData(
            title=outbound(template.name) or "",
            variants=tuple(variant_data),
            options=tuple(options),
            description_html=outbound(plaintext2html(template.description_sale))
            if outbound(template.description_sale)
            else None,
            active=is_sold,
            product_ref=outbound(listing.external_ref),
            handle=product_handle(template.name, f"odoo-{template.id}"),
        )
        return data, bindings, missing

    def _catalogue_variant_values(
        self, variant, option_lines, currency, price_map, compare_map
    ):
        """The `VariantData` values of one variant, through `outbound`: a
        price of 0 is no price (Odoo's default for an unpriced product)."""
        digits = currency.decimal_places
        price = outbound_money(price_map.get(variant.id), digits)
        compare = outbound_money(compare_map.get(variant.id), digits)
        by_line = {
            value.attribute_line_id: value
            for value in variant.product_template_attribute_value_ids
        }
        return {
            "sku": outbound(variant.default_code),
            "price": price if price and price > 0 else None,
            "compare_at_price": compare
            if compare and price and compare > price
            else None,
            "options": tuple(
                (line.attribute_id.name, by_line[line].name)
                for line in option_lines
                if line in by_line
            ),
            "barcode": outbound(variant.barcode),
            "weight": outbound_money(variant.weight or None, 3),
            "weight_unit": variant.weight_uom_name or "kg",
            "tracked": variant.is_storable,
            "taxable": bool(variant.taxes_id),
        }

    def _catalogue_bindings(self, variants):
        """{variant: its binding on this backend (empty if none)}."""
        Binding = self.env["channel.product.binding"]
        found = Binding.search(
            [("backend_id", "=", self.id), ("product_id", "in", variants.ids)]
        )
        by_product = {binding.product_id: binding for binding in found}
        return {variant: by_product.get(variant, Binding) for variant in variants}

    def _apply_published(self, plan, result):
        """Bind the variants the channel answered (by SKU), stamp the listing."""
        by_sku = {variant.sku: variant for variant in result.variants}
        now = fields.Datetime.now()
        bindings = plan.bindings
        for variant, binding in bindings.items():
            published = by_sku.get(variant.default_code)
            if published:
                bindings[variant] = self._bind_published(
                    variant, binding, published, now
                )
        self._store_price_hashes(bindings, plan.price_hashes)
        if plan.image_checksum:
            plan.listing.image_checksum = plan.image_checksum
        plan.listing.write(
            {
                "external_ref": result.product_ref,
                "payload_hash": plan.product_hash,
                "state": "published",
                "last_sent_at": now,
                "message": self.env._(
                    "%(count)s variants published", count=len(result.variants)
                ),
            }
        )

    def _bind_published(self, variant, binding, published, now):
        channel_variant = ChannelVariant(
            variant_ref=published.variant_ref,
            sku=published.sku,
            title=variant.display_name,
            product_ref=published.product_ref,
            inventory_item_ref=published.inventory_item_ref,
        )
        values = {
            "external_ref": published.variant_ref,
            "sku": published.sku,
            "product_ref": published.product_ref or False,
            "sync_date": now,
            **self._get_variant_binding_values(channel_variant),
        }
        if binding:
            binding.write(values)
            return binding
        return self.env["channel.product.binding"].create(
            {
                **values,
                "backend_id": self.id,
                "company_id": self.company_id.id,
                "product_id": variant.id,
            }
        )

    @api.model
    def _store_price_hashes(self, bindings, price_hashes):
        for variant, binding in bindings.items():
            if binding:
                binding.catalogue_price_hash = price_hashes[variant]

    def _record_catalogue_skip(self, listing, missing):
        """A product with a variant lacking a SKU or price is not sent at all
        (sending the others would delete that variant on the channel)."""
        labels = {
            "sku": self.env._("internal reference (SKU)"),
            "price": self.env._("price"),
        }
        gaps = "; ".join(
            f"{variant.display_name}: {', '.join(labels[name] for name in names)}"
            for variant, names in missing
        )
        message = self.env._(
            "%(product)s was not published to %(backend)s, missing %(gaps)s.",
            product=listing.product_tmpl_id.display_name,
            backend=self.name,
            gaps=gaps,
        )
        self.env["channel.exception"]._record(
            "catalogue_skipped",
            message,
            backend=self,
            key=f"catalogue:{listing.product_tmpl_id.id}",
            documents=[variant for variant, _names in missing][:1],
        )
        listing.write({"state": "skipped", "message": message})

    def _record_catalogue_refusal(self, listing, exc):
        message = self.env._(
            "%(backend)s refused %(product)s: %(error)s",
            backend=self.name,
            product=listing.product_tmpl_id.display_name,
            error=str(exc),
        )
        self.env["channel.exception"]._record(
            "catalogue_refused",
            message,
            backend=self,
            key=f"catalogue:{listing.product_tmpl_id.id}",
            documents=listing.product_tmpl_id.product_variant_ids[:1],
        )
        listing.write({"state": "refused", "message": message})

    def _apply_channel_edit(self, edit):
        """Compare a `ChannelProductEdit` with what Odoo publishes; record a
        difference and, per `catalogue_edit_policy`, republish.

        :return: the listing concerned, False when the edit is unknown or is
            the echo of our own write (nothing differs)
        """
        self.ensure_one()
        listing = self.env["channel.product.listing"].search(
            [("backend_id", "=", self.id), ("external_ref", "=", edit.product_ref)],
            limit=1,
        )
        if not listing:
            return False
        prices = self._catalogue_prices(listing.product_tmpl_id)
        data, bindings, _missing = self._catalogue_product_data(listing, prices, True)
        lines = self._edit_differences(edit, data)
        if not lines:
            return False
        difference = "\n".join(lines)
        listing.write({"difference": difference})
        keep = self.catalogue_edit_policy == "keep"
        self.env["channel.exception"]._record(
            "catalogue_difference",
            self.env._(
                "%(product)s was edited on %(backend)s: %(policy)s",
                product=listing.product_tmpl_id.display_name,
                backend=self.name,
                policy=self.env._("kept, Odoo's data not republished")
                if keep
                else self.env._("Odoo's data is published again"),
            ),
            backend=self,
            key=f"catalogue:{listing.product_tmpl_id.id}",
            detail=difference,
            documents=listing.product_tmpl_id.product_variant_ids[:1],
        )
        if not keep:
            listing.write({"dirty": True, "payload_hash": False})
            self.env["channel.product.binding"].browse(
                [binding.id for binding in bindings.values() if binding]
            ).write({"catalogue_price_hash": False})
            self._enqueue_catalogue_publish()
        return listing

    def _edit_differences(self, edit, data):
        """Lines "field: channel value / Odoo value" where they differ."""
        lines = []
        if edit.title is not None and edit.title != data.title:
            lines.append(
                self.env._(
                    "title: %(channel)s / %(odoo)s", channel=edit.title, odoo=data.title
                )
            )
        odoo_prices = {
            item.variant_ref: item.price for item in data.variants if item.variant_ref
        }
        for variant_ref, price in edit.prices:
            if variant_ref in odoo_prices and odoo_prices[variant_ref] != price:
                lines.append(
                    self.env._(
                        "price of %(variant)s: %(channel)s / %(odoo)s",
                        variant=variant_ref,
                        channel=price,
                        odoo=odoo_prices[variant_ref],
                    )
                )
        return lines

    def _lock_catalogue_publish(self):
        """One publishing job per backend at a time (released at commit)."""
        if not queries.try_lock(self.env.cr, CATALOGUE_PUBLISH_LOCK, self.id):
            raise RetryableJobError(
                "Another catalogue publish of this backend is running",
                seconds=15,
                ignore_retry=True,
            )

    # === JOBS ===

    def _job_publish_catalogue(self):
        """Job (catalogue channel): publish the listings changed since the
        channel last acknowledged them; nothing changed, no call."""
        self.ensure_one()
        if not (
            self.active
            and self.publish_catalogue
            and self.supports_catalogue_publish
            and self.state == "connected"
        ):
            return "skipped: publishing is off or the backend is not connected"
        self._lock_catalogue_publish()
        adapter = self._get_adapter(priority="catalog")
        with self._map_channel_errors():
            totals = self._publish_catalogue(adapter)
        return ", ".join(f"{key} {value}" for key, value in totals.items())

    @api.model
    def _cron_publish_catalogue(self):
        """Cron: enqueue a publishing job where a listing changed or a
        product is sold and not listed yet."""
        backends = self.search(
            [("publish_catalogue", "=", True), ("state", "=", "connected")]
        )
        for backend in backends.filtered("supports_catalogue_publish"):
            backend._enqueue_catalogue_publish()


@dataclass
class ListingPlan:
    """What the publishing job does with one listing (`_plan_listing`)."""

    kind: str
    listing: object
    data: object = None
    bindings: dict = field(default_factory=dict)
    product_hash: str | None = None
    price_hashes: dict = field(default_factory=dict)
    changed: list = field(default_factory=list)
    # Set when the images changed and go with this publish.
    image_checksum: str | None = None


def _without_prices(data):
    """The product as hashed for "anything but prices changed"."""
    values = asdict(data)
    values.pop("product_ref")
    # Derived from the title (hashed) and only sent before the product exists.
    values.pop("handle")
    values.pop("images")
    for variant in values["variants"]:
        for key in ("price", "compare_at_price", "variant_ref", "image"):
            variant.pop(key)
    return values


def _hash(values):
    text = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
