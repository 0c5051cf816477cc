"""Shopify product writes: `productSet` (synchronous) and
`productVariantsBulkUpdate`, with the checks Shopify makes before it applies
anything (options and option values, variant ids of the product, prices).

A product created here exists on Shopify only (no WooCommerce twin): its
variants and inventory items are numbered like seeded ones and stocked at 0
at every location, as Shopify stocks a new tracked variant.
"""

from decimal import Decimal, InvalidOperation

from .shopify_uploads import StagedUploads
from .util import cents, number

# Shopify's limits on one product (2024-10 and later).
MAX_OPTIONS = 3
MAX_VARIANTS = 2048


class ProductWriteError(Exception):
    """A userError: nothing of the write was applied."""

    def __init__(self, code, field, message):
        super().__init__(message)
        self.error = {"code": code, "field": field, "message": message}


class ProductWrites:
    """Applies product mutations to the simulator state (caller holds the lock)."""

    def __init__(self, state):
        self.state = state
        self.uploads = StagedUploads(state)

    # === productSet ===

    def product_set(self, data, identifier=None):
        """Create or replace a product with its options and variants; variants
        the input does not list are deleted. Returns the product's id."""
        state = self.state
        product = self._identified(data, identifier)
        options = self._options(data)
        variants_in = data.get("variants")
        if not variants_in:
            raise ProductWriteError(
                "VARIANTS_INPUT_MISSING",
                ["input", "variants"],
                "Variants are required.",
            )
        if len(variants_in) > MAX_VARIANTS:
            raise ProductWriteError(
                "VARIANTS_OVER_LIMIT", ["input", "variants"], "Too many variants."
            )
        media = self._checked_files(data.get("files"))
        checked = [
            self._checked_variant(product, options, variant, index)
            for index, variant in enumerate(variants_in)
        ]
        self._check_variant_files(product, media, checked)
        combos = [tuple(v["options"]) for v in checked]
        if len(set(combos)) != len(combos):
            raise ProductWriteError(
                "DUPLICATED_OPTION_VALUE",
                ["input", "variants"],
                "Two variants have the same option values.",
            )
        now = state.wall_clock()
        if product is None:
            product = self._new_product(now)
        if media is not None:
            product["media"] = media
        handle = data.get("handle") or (identifier or {}).get("handle")
        if handle:
            product["handle"] = handle
        product.update(
            {
                "title": data.get("title") or product.get("title") or "",
                "description_html": data.get("descriptionHtml"),
                "status": data.get("status") or product.get("status") or "ACTIVE",
                "options": options,
                "updated_at": now,
            }
        )
        kept = [self._write_variant(product, values, now) for values in checked]
        for gone in set(product["variant_ids"]) - set(kept):
            self._delete_variant(gone)
        product["variant_ids"] = kept
        state.product_writes.append(("productSet", product["id"], len(kept)))
        return product["id"]

    def product_set_async(self, data, identifier=None):
        """productSet with `synchronous: false`: an operation CREATED now,
        ACTIVE for `state.product_operation_polls` polls, then COMPLETE with
        the product or the userErrors of the write (applied at completion)."""
        state = self.state
        operation = {
            "id": str(state.new_id("product_operation", 7000)),
            "status": "CREATED",
            "product": None,
            "user_errors": [],
            "polls": 0,
            "input": (data, identifier),
        }
        state.product_operations[operation["id"]] = operation
        return operation

    def poll_operation(self, ref):
        """The operation after one more poll, None when unknown."""
        operation = self.state.product_operations.get(ref)
        if operation is None or operation["status"] == "COMPLETE":
            return operation
        operation["polls"] += 1
        if operation["polls"] <= self.state.product_operation_polls:
            operation["status"] = "ACTIVE"
            return operation
        data, identifier = operation.pop("input")
        try:
            operation["product"] = self.product_set(data, identifier)
        except ProductWriteError as error:
            operation["user_errors"] = [error.error]
        operation["status"] = "COMPLETE"
        return operation

    def _identified(self, data, identifier):
        """The product `identifier` (or the input's id) names: by id, which
        must exist; by handle, an upsert (None: created under the handle)."""
        ref = (identifier or {}).get("id") or data.get("id")
        handle = (identifier or {}).get("handle")
        if not ref and handle:
            return next(
                (p for p in self.state.products.values() if p["handle"] == handle),
                None,
            )
        if not ref:
            return None
        product = self.state.products.get(number(ref))
        if product is None:
            raise ProductWriteError(
                "PRODUCT_DOES_NOT_EXIST", ["identifier", "id"], "Product does not exist"
            )
        return product

    def _checked_files(self, files):
        """The product's media from productSet's `files` (None: left as they
        are): each must name an uploaded staged file."""
        if files is None:
            return None
        media = []
        for index, value in enumerate(files):
            field = ["input", "files", str(index), "originalSource"]
            if value.get("contentType") not in (None, "IMAGE"):
                raise ProductWriteError(
                    "INVALID_INPUT", field[:-1], "Only images are supported."
                )
            upload = self.uploads.uploaded(value.get("originalSource"))
            if upload is None:
                raise ProductWriteError(
                    "INVALID_INPUT",
                    field,
                    "File could not be processed: originalSource was not uploaded.",
                )
            media.append(
                {
                    "id": str(self.state.new_id("media", 30000)),
                    "alt": value.get("alt") or "",
                    "filename": value.get("filename") or upload["filename"],
                    "mime_type": upload["mime_type"],
                    "size": len(upload["content"]),
                    "source": upload["resource_url"],
                }
            )
        return media

    @staticmethod
    def _check_variant_files(product, media, checked):
        """A variant's `file` must be one of the product's files."""
        known = media if media is not None else (product or {}).get("media") or []
        by_source = {item["source"]: item["id"] for item in known}
        for index, values in enumerate(checked):
            source = values.pop("file_source")
            if source is None:
                continue
            if source not in by_source:
                raise ProductWriteError(
                    "INVALID_VARIANT",
                    ["input", "variants", str(index), "file"],
                    "The variant's file must be one of the product's files.",
                )
            values["media_id"] = by_source[source]

    @staticmethod
    def _options(data):
        options = data.get("productOptions")
        if not options:
            raise ProductWriteError(
                "PRODUCT_OPTIONS_INPUT_MISSING",
                ["input", "productOptions"],
                "Options are required when variants are given.",
            )
        if len(options) > MAX_OPTIONS:
            raise ProductWriteError(
                "OPTIONS_OVER_LIMIT", ["input", "productOptions"], "Too many options."
            )
        names = [option.get("name") for option in options]
        if len(set(names)) != len(names) or not all(names):
            raise ProductWriteError(
                "DUPLICATED_OPTION_NAME",
                ["input", "productOptions"],
                "Option names must be present and unique.",
            )
        return [
            (
                option["name"],
                [value.get("name") for value in option.get("values") or ()],
            )
            for option in options
        ]

    def _checked_variant(self, product, options, variant, index):
        field = ["input", "variants", str(index)]
        chosen = {v.get("optionName"): v.get("name") for v in variant["optionValues"]}
        values = []
        for name, allowed in options:
            if chosen.get(name) not in allowed:
                raise ProductWriteError(
                    "OPTION_VALUE_DOES_NOT_EXIST",
                    [*field, "optionValues"],
                    f"Option value for '{name}' does not exist.",
                )
            values.append(chosen[name])
        if set(chosen) - {name for name, _allowed in options}:
            raise ProductWriteError(
                "OPTION_DOES_NOT_EXIST",
                [*field, "optionValues"],
                "Option does not exist.",
            )
        ref = variant.get("id") and number(variant["id"])
        if ref and (product is None or ref not in product["variant_ids"]):
            raise ProductWriteError(
                "PRODUCT_VARIANT_DOES_NOT_EXIST",
                [*field, "id"],
                "Product variant does not exist.",
            )
        item = variant.get("inventoryItem") or {}
        weight = (item.get("measurement") or {}).get("weight") or {}
        return {
            "ref": ref,
            "options": values,
            "sku": variant.get("sku") or item.get("sku") or "",
            "barcode": variant.get("barcode"),
            "price": _price(variant.get("price"), [*field, "price"]),
            "compare_at_price": _price(
                variant.get("compareAtPrice"), [*field, "compareAtPrice"]
            ),
            "taxable": variant.get("taxable", True),
            "tracked": item.get("tracked", True),
            "weight": weight.get("value"),
            "weight_unit": weight.get("unit"),
            "file_source": (variant.get("file") or {}).get("originalSource"),
        }

    def _new_product(self, now):
        state = self.state
        product_id = str(state.new_id("product", 10000))
        product = {
            "id": product_id,
            "handle": f"product-{product_id}",
            "variant_ids": [],
            "created_at": now,
        }
        state.products[product_id] = product
        return product

    def _write_variant(self, product, values, now):
        state = self.state
        ref = values["ref"]
        if ref is None:
            index = len(state.variants) + 1
            while str(100000 + index) in state.variants:
                index += 1
            ref, item = str(100000 + index), str(900000 + index)
            state.variants[ref] = {
                "id": ref,
                "inventory_item": item,
                "product": product["id"],
                "woo_id": None,
                "woo_parent_id": None,
                "created_at": now,
            }
            state.items[item] = ref
            for location in state.locations:
                state.levels[(item, location)] = 0
        variant = state.variants[ref]
        variant.update(
            {
                "sku": values["sku"],
                "title": " / ".join(values["options"]),
                "options": values["options"],
                "price": values["price"] or cents(0),
                "compare_at_price": values["compare_at_price"],
                "barcode": values["barcode"],
                "taxable": values["taxable"],
                "tracked": values["tracked"],
                "weight": values["weight"],
                "weight_unit": values["weight_unit"],
                "updated_at": now,
            }
        )
        if "media_id" in values:
            variant["media_id"] = values["media_id"]
        return ref

    def _delete_variant(self, ref):
        state = self.state
        variant = state.variants.pop(ref)
        state.items.pop(variant["inventory_item"], None)
        for key in [k for k in state.levels if k[0] == variant["inventory_item"]]:
            del state.levels[key]

    # === productVariantsBulkUpdate ===

    def variants_bulk_update(self, product_ref, variants):
        """Update variants of one product; all or nothing. Returns their ids."""
        state = self.state
        product = state.products.get(number(product_ref))
        if product is None:
            raise ProductWriteError(
                "PRODUCT_DOES_NOT_EXIST", ["productId"], "Product does not exist"
            )
        changes = []
        for index, variant in enumerate(variants):
            field = ["variants", str(index)]
            ref = variant.get("id") and number(variant["id"])
            if not ref:
                raise ProductWriteError(
                    "PRODUCT_VARIANT_ID_MISSING", [*field, "id"], "Variant id missing."
                )
            if ref not in product["variant_ids"]:
                raise ProductWriteError(
                    "MUST_BE_FOR_THIS_PRODUCT",
                    [*field, "id"],
                    "Product variant is not of this product.",
                )
            change = {}
            if "price" in variant:
                change["price"] = _price(variant["price"], [*field, "price"])
            if "compareAtPrice" in variant:
                change["compare_at_price"] = _price(
                    variant["compareAtPrice"], [*field, "compareAtPrice"]
                )
            if "barcode" in variant:
                change["barcode"] = variant["barcode"]
            changes.append((ref, change))
        now = state.wall_clock()
        for ref, change in changes:
            state.variants[ref].update({**change, "updated_at": now})
        state.product_writes.append(
            ("productVariantsBulkUpdate", product["id"], len(changes))
        )
        return [ref for ref, _change in changes]


def _price(value, field):
    """A Money input as cents; None stays None (no compare-at price)."""
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ProductWriteError("INVALID_INPUT", field, "Invalid price.") from exc
    if amount < 0:
        raise ProductWriteError("INVALID_INPUT", field, "Price must not be negative.")
    return cents(amount)
