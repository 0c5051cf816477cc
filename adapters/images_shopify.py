"""Product images to Shopify without a public URL: each image is staged
(`stagedUploadsCreate`), its bytes uploaded to the target Shopify returns,
and productSet names it by the target's `resourceUrl` (`files`, a variant's
`file`). Odoo's images are never made public."""

from .exceptions import ChannelPayloadError

STAGED_UPLOADS_MUTATION = """
mutation ChannelConnectorStagedUploads($input: [StagedUploadInput!]!) {
  stagedUploadsCreate(input: $input) {
    stagedTargets { url resourceUrl parameters { name value } }
    userErrors { field message }
  }
}
"""


def stage_images(graphql, transport, images):
    """Stage and upload `images` (`catalogue.ImageData`s) in one
    stagedUploadsCreate call and one upload each.

    :return: {image key: resourceUrl}
    """
    data = graphql(
        STAGED_UPLOADS_MUTATION,
        {
            "input": [
                {
                    "resource": "IMAGE",
                    "filename": image.filename,
                    "mimeType": image.mime_type,
                    "fileSize": str(len(image.content)),
                    "httpMethod": "POST",
                }
                for image in images
            ]
        },
    )["stagedUploadsCreate"]
    errors = data.get("userErrors") or ()
    if errors:
        messages = "; ".join(str(error.get("message")) for error in errors)
        raise ChannelPayloadError(f"Shopify refused to stage images: {messages}")
    targets = data.get("stagedTargets") or ()
    if len(targets) != len(images):
        raise ChannelPayloadError("Shopify staged fewer images than asked.")
    for image, target in zip(images, targets, strict=True):
        _upload(transport, image, target)
    return {
        image.key: target["resourceUrl"]
        for image, target in zip(images, targets, strict=True)
    }


def _upload(transport, image, target):
    """POST the bytes as a form: the target's parameters, then the file
    (the storage bucket reads them in that order). No Shopify token."""
    fields = {param["name"]: param["value"] for param in target["parameters"]}
    transport.request(
        "POST",
        target["url"],
        data=fields,
        files={"file": (image.filename, image.content, image.mime_type)},
    )


def files_input(images, sources):
    """productSet's `files` for `images` staged at `sources` ({key: url})."""
    return [
        _without_none(
            {
                "originalSource": sources[image.key],
                "contentType": "IMAGE",
                "alt": image.alt,
                "filename": image.filename,
            }
        )
        for image in images
    ]


def variant_file_input(key, sources, images):
    """A variant's `file`: the product file it shows, None when none."""
    if key is None or key not in sources:
        return None
    alt = next((image.alt for image in images if image.key == key), None)
    return _without_none(
        {"originalSource": sources[key], "contentType": "IMAGE", "alt": alt}
    )


def _without_none(values):
    return {key: value for key, value in values.items() if value is not None}
