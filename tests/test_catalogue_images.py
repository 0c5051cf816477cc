import base64
import io

import requests
from PIL import Image

from odoo.tests import tagged

from odoo.addons.queue_job.exception import RetryableJobError

from ..adapters.catalogue import product_handle
from ..adapters.images_shopify import STAGED_UPLOADS_MUTATION
from ..adapters.shopify import (
    PRODUCT_OPERATION_QUERY,
    PRODUCT_SET_MUTATION,
    PRODUCT_SET_POLL_WAITS,
)
from .test_catalogue_publish import CatalogueCommon


@tagged("post_install", "-at_install")
class TestCatalogueProductSetIdentifier(CatalogueCommon):
    """productSet names a product Shopify does not know yet by its handle (an
    upsert): a publish retried after polling gave up, or after an answer
    was lost, updates the product it created instead of adding a twin."""

    def _shop_products(self, title):
        return [p for p in self.sim.state.products.values() if p["title"] == title]

    def _slow_operations(self, polls):
        response = requests.post(
            f"{self.sim.base_url}/_sim/products/operations/slow",
            json={"polls": polls},
            timeout=10,
        )
        response.raise_for_status()

    def test_new_product_is_created_under_its_handle(self):
        self.shopify._job_publish_catalogue()
        (product,) = self._shop_products("Linen shirt")
        self.assertEqual(product["handle"], f"linen-shirt-odoo-{self.template.id}")
        self.assertEqual(self._listing(self.template).external_ref, product["id"])

    def test_async_publish_retried_after_polling_gave_up_makes_one_product(self):
        template = self._rainbow_shirt()
        self._slow_operations(len(PRODUCT_SET_POLL_WAITS) + 5)
        adapter = self.shopify._get_adapter(priority="catalog")
        slept = []
        adapter.config["sleep"] = slept.append
        # The job's transaction is rolled back when it is retried.
        with (
            self.assertRaises(RetryableJobError),
            self.env.cr.savepoint(),
            self.shopify._map_channel_errors(),
        ):
            self.shopify._publish_catalogue(adapter)
        self.assertEqual(slept, list(PRODUCT_SET_POLL_WAITS), "polling gave up")
        self.assertFalse(self._listing(template).external_ref)
        # Meanwhile Shopify completes the first operation in the background.
        self._slow_operations(0)
        (operation_id,) = self.sim.state.product_operations
        adapter.graphql(
            PRODUCT_OPERATION_QUERY,
            {"id": f"gid://shopify/ProductSetOperation/{operation_id}"},
        )
        self.assertEqual(len(self._shop_products("Rainbow shirt")), 1)
        totals = self.shopify._publish_catalogue(adapter)
        self.assertEqual(totals["refused"], 0)
        self.assertEqual(self._listing(template).state, "published")
        (product,) = self._shop_products("Rainbow shirt")
        self.assertEqual(len(product["variant_ids"]), 120)
        self.assertEqual(self._listing(template).external_ref, product["id"])
        self.assertEqual(
            product["handle"], product_handle("Rainbow shirt", f"odoo-{template.id}")
        )

    def test_known_product_is_identified_by_its_id_its_handle_kept(self):
        self.shopify._job_publish_catalogue()
        (product,) = self._shop_products("Linen shirt")
        product["handle"] = "renamed-on-the-shop"
        self.template.name = "Linen shirt, washed"
        self.shopify._job_publish_catalogue()
        (product,) = self._shop_products("Linen shirt, washed")
        self.assertEqual(product["handle"], "renamed-on-the-shop")
        self.assertEqual(len(self.sim.state.products), 1)

    def test_handle_is_lowercase_ascii_words_and_the_key(self):
        self.assertEqual(
            product_handle("Chemise  d'été — Lin!", "odoo-7"),
            "chemise-d-ete-lin-odoo-7",
        )
        self.assertEqual(product_handle("", "odoo-7"), "odoo-7")


def _png(colour):
    """A small PNG of one colour (bytes)."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="PNG")
    return buffer.getvalue()


PRODUCT_MEDIA_QUERY = """
query ProductMedia($id: ID!) {
  product(id: $id) {
    media(first: 10) { nodes { ... on MediaImage { id alt image { url } } } }
  }
}
"""


@tagged("post_install", "-at_install")
class TestCatalogueImages(CatalogueCommon):
    """Images go to Shopify through staged uploads (Odoo's images are never
    made public), only when they changed since the channel acknowledged them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shopify.catalogue_publish_images = True
        cls.template.image_1920 = base64.b64encode(_png("red"))
        cls._variant(cls, cls.template, "L").image_variant_1920 = base64.b64encode(
            _png("blue")
        )

    def _uploads(self):
        return [u for u in self.sim.state.staged_uploads.values() if u["content"]]

    def test_images_are_staged_uploaded_and_set_on_product_and_variant(self):
        result = self.shopify._job_publish_catalogue()
        self.assertIn("calls 2", result, "stagedUploadsCreate, productSet")
        uploads = self._uploads()
        self.assertEqual(
            sorted(u["content"] for u in uploads), sorted([_png("red"), _png("blue")])
        )
        product = self._shop_product(self.template)
        media = product["media"]
        self.assertEqual([m["mime_type"] for m in media], ["image/png"] * 2)
        by_source = {u["resource_url"]: u["content"] for u in uploads}
        self.assertEqual(by_source[media[0]["source"]], _png("red"), "product first")
        variants = self._shop_variants(self.template)
        self.assertEqual(variants["LIN-L"]["media_id"], media[1]["id"])
        self.assertNotIn("media_id", variants["LIN-S"], "shows the product's image")
        adapter = self.shopify._get_adapter(priority="catalog")
        nodes = adapter.graphql(
            PRODUCT_MEDIA_QUERY, {"id": f"gid://shopify/Product/{product['id']}"}
        )["product"]["media"]["nodes"]
        self.assertEqual(
            [node["image"]["url"] for node in nodes], [m["source"] for m in media]
        )
        attachment = self.env["ir.attachment"].search(
            [
                ("res_model", "=", "product.template"),
                ("res_field", "=", "image_1920"),
                ("res_id", "=", self.template.id),
            ]
        )
        self.assertFalse(attachment.public, "Odoo's image stays private")

    def test_unchanged_images_are_not_sent_again(self):
        self.shopify._job_publish_catalogue()
        media = self._shop_product(self.template)["media"]
        self.assertIn("calls 0", self.shopify._job_publish_catalogue())
        self.template.name = "Linen shirt, washed"
        self.assertIn("calls 1", self.shopify._job_publish_catalogue(), "productSet")
        self.assertEqual(self.sim.state.calls["stagedUploadsCreate"], 1)
        self.assertEqual(len(self._uploads()), 2, "no upload again")
        self.assertEqual(self._shop_product(self.template)["media"], media)
        self.template.image_1920 = base64.b64encode(_png("green"))
        self.assertIn("calls 2", self.shopify._job_publish_catalogue())
        new_media = self._shop_product(self.template)["media"]
        by_source = {u["resource_url"]: u["content"] for u in self._uploads()}
        self.assertEqual(by_source[new_media[0]["source"]], _png("green"))
        self.assertEqual(len(new_media), 2)

    def test_images_removed_in_odoo_are_removed_never_sent_none_untouched(self):
        other = self._tshirt("Plain shirt", "PL")
        self.shopify._job_publish_catalogue()
        self.assertNotIn("media", self._shop_product(other), "no image: no files")
        self.template.image_1920 = False
        self._variant(self.template, "L").image_variant_1920 = False
        self.assertIn("calls 1", self.shopify._job_publish_catalogue())
        self.assertEqual(self._shop_product(self.template)["media"], [])
        self.assertIn("calls 0", self.shopify._job_publish_catalogue())

    def test_images_the_channel_refuses_are_the_products_refusal(self):
        self.sim.state.max_image_bytes = 10
        self.assertIn("refused 1", self.shopify._job_publish_catalogue())
        listing = self._listing(self.template)
        self.assertEqual(listing.state, "refused")
        self.assertIn("File size is invalid", listing.message)
        self.assertFalse(listing.image_checksum)
        self.assertEqual(self.sim.state.product_writes, [], "product not set")
        self.sim.state.max_image_bytes = 20 * 1024 * 1024
        listing.dirty = True  # published again, like any refused product
        self.assertIn("published 1", self.shopify._job_publish_catalogue())
        self.assertEqual(len(self._shop_product(self.template)["media"]), 2)

    def test_images_flag_off_sends_no_image(self):
        self.shopify.catalogue_publish_images = False
        self.assertIn("calls 1", self.shopify._job_publish_catalogue())
        self.assertEqual(self.sim.state.staged_uploads, {})
        self.assertNotIn("media", self._shop_product(self.template))

    def test_a_file_that_was_not_uploaded_is_a_user_error(self):
        adapter = self.shopify._get_adapter(priority="catalog")
        data = adapter.graphql(
            PRODUCT_SET_MUTATION,
            {
                "input": {
                    "title": "Poster",
                    "productOptions": [{"name": "Title", "values": [{"name": "A"}]}],
                    "variants": [
                        {"optionValues": [{"optionName": "Title", "name": "A"}]}
                    ],
                    "files": [
                        {
                            "originalSource": "https://example.com/poster.png",
                            "contentType": "IMAGE",
                        }
                    ],
                }
            },
        )["productSet"]
        (error,) = data["userErrors"]
        self.assertEqual(error["field"], ["input", "files", "0", "originalSource"])
        self.assertEqual(self.sim.state.products, {}, "nothing applied")

    def test_upload_of_another_size_than_staged_is_refused(self):
        adapter = self.shopify._get_adapter(priority="catalog")
        (target,) = adapter.graphql(
            STAGED_UPLOADS_MUTATION,
            {
                "input": [
                    {
                        "resource": "IMAGE",
                        "filename": "a.png",
                        "mimeType": "image/png",
                        "fileSize": "10",
                        "httpMethod": "POST",
                    }
                ]
            },
        )["stagedUploadsCreate"]["stagedTargets"]
        fields = {p["name"]: p["value"] for p in target["parameters"]}
        response = requests.post(
            target["url"],
            data=fields,
            files={"file": ("a.png", b"12345", "image/png")},
            timeout=10,
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self._uploads(), [])
