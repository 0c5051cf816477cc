import base64
import dataclasses
import hashlib
import json

from odoo import fields, models
from odoo.tools.mimetypes import guess_mimetype

from ..adapters.catalogue import ImageData

# File name extension of each image type a channel accepts.
IMAGE_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
}


class ChannelBackend(models.Model):
    """Catalogue publishing of product images (docs/catalogue.rst): the
    product's image and the variants' own, sent only when they changed."""

    _inherit = "channel.backend"

    # === FIELDS ===

    catalogue_publish_images = fields.Boolean(
        string="Publish images",
        help="Send the product's image and the variants' own images with the "
        "product, uploaded to the channel (never made public by Odoo), and "
        "again only when they change.",
    )

    # === BUSINESS METHODS ===

    def _plan_images(self, plan):
        """Add the product's images to `plan` (and make it a publish) when
        they differ from those the channel last acknowledged; none left in
        Odoo after some were sent: an empty list removes them."""
        if plan.data is None:
            return
        template = plan.listing.product_tmpl_id
        variants = list(plan.bindings)
        keys = self._catalogue_image_keys(template, variants)
        if not keys and not plan.listing.image_checksum:
            # No image in Odoo, none ever sent: the channel's are left alone.
            return
        checksum = _checksum([keys.get(record) for record in [template, *variants]])
        if plan.listing.image_checksum == checksum:
            return
        images = self._catalogue_images(template, variants, keys)
        plan.data = dataclasses.replace(
            plan.data,
            images=images,
            variants=tuple(
                dataclasses.replace(item, image=keys.get(variant))
                for variant, item in zip(variants, plan.data.variants, strict=True)
            ),
        )
        plan.kind = "published"
        plan.image_checksum = checksum

    def _catalogue_image_keys(self, template, variants):
        """{template or variant: checksum of its own image}, from the
        attachments' checksums: the bytes are read only when sent."""
        found = (
            self.env["ir.attachment"]
            .sudo()
            .search_read(
                [
                    "|",
                    "&",
                    ("res_model", "=", "product.template"),
                    "&",
                    ("res_field", "=", "image_1920"),
                    ("res_id", "=", template.id),
                    "&",
                    ("res_model", "=", "product.product"),
                    "&",
                    ("res_field", "=", "image_variant_1920"),
                    ("res_id", "in", [variant.id for variant in variants]),
                ],
                ["res_model", "res_id", "checksum"],
            )
        )
        by_ref = {(row["res_model"], row["res_id"]): row["checksum"] for row in found}
        keys = {}
        for record in [template, *variants]:
            key = by_ref.get((record._name, record.id))
            if key:
                keys[record] = key
        return keys

    def _catalogue_images(self, template, variants, keys):
        """The `ImageData`s of a product: its image first, then each other
        image its variants show (once each)."""
        images, seen = [], set()
        for record in [template, *variants]:
            key = keys.get(record)
            if not key or key in seen:
                continue
            seen.add(key)
            field = "image_1920" if record == template else "image_variant_1920"
            content = base64.b64decode(record[field])
            mime_type = guess_mimetype(content)
            extension = IMAGE_EXTENSIONS.get(mime_type, "bin")
            images.append(
                ImageData(
                    key=key,
                    filename=f"odoo-{record._name.replace('.', '-')}-"
                    f"{record.id}-{key[:8]}.{extension}",
                    mime_type=mime_type,
                    content=content,
                    alt=record.with_context(lang=self._catalogue_lang()).display_name,
                )
            )
        return tuple(images)


def _checksum(keys):
    return hashlib.sha256(json.dumps(keys).encode()).hexdigest()
