"""Shopify staged uploads: `stagedUploadsCreate` hands out an upload target
(a URL on the simulator standing for Shopify's storage bucket) and the
`resourceUrl` that names the file once uploaded; the upload endpoint stores
the bytes after checking their size and type against what was declared.
productSet's `files` may only name uploaded resourceUrls.
"""

import secrets

from werkzeug.wrappers import Response

# The path of upload targets on the simulator (Shopify's is a storage bucket).
UPLOAD_PREFIX = "/_staged-uploads/"
# Resources an image of a product may be staged as.
IMAGE_RESOURCES = frozenset({"IMAGE", "PRODUCT_IMAGE", "FILE"})


class StagedUploads:
    """Upload targets and the files uploaded to them (caller holds the lock
    for `create`; `receive` takes it)."""

    def __init__(self, state):
        self.state = state

    def create(self, inputs):
        """The stagedUploadsCreate answer for `inputs` (StagedUploadInput)."""
        targets, errors = [], []
        for index, value in enumerate(inputs):
            error = _input_error(value, self.state.max_image_bytes)
            if error:
                errors.append({"field": ["input", str(index)], "message": error})
                continue
            token = secrets.token_hex(8)
            base = self.state.base_url
            resource_url = f"{base}{UPLOAD_PREFIX}{token}/{value['filename']}"
            self.state.staged_uploads[token] = {
                "filename": value["filename"],
                "mime_type": value["mimeType"],
                "file_size": int(value.get("fileSize") or 0),
                "resource_url": resource_url,
                "content": None,
            }
            targets.append(
                {
                    "url": f"{base}{UPLOAD_PREFIX}{token}",
                    "resourceUrl": resource_url,
                    "parameters": [
                        {"name": "key", "value": f"tmp/{token}/{value['filename']}"},
                        {"name": "Content-Type", "value": value["mimeType"]},
                    ],
                }
            )
        if errors:
            return {"stagedTargets": [], "userErrors": errors}
        return {"stagedTargets": targets, "userErrors": []}

    def receive(self, request):
        """POST (multipart form, the file last) or PUT (raw body) of the
        bytes of one staged upload: 201, or 4xx saying what is wrong."""
        token = request.path[len(UPLOAD_PREFIX) :].strip("/")
        with self.state.lock:
            upload = self.state.staged_uploads.get(token)
        if upload is None:
            return Response("Unknown upload target", status=404)
        if request.method == "POST":
            sent = request.files.get("file")
            content = sent.read() if sent else b""
            mime_type = request.form.get("Content-Type")
        elif request.method == "PUT":
            content = request.get_data()
            mime_type = request.headers.get("Content-Type")
        else:
            return Response("Method Not Allowed", status=405)
        if mime_type != upload["mime_type"]:
            return Response("Content-Type differs from the staged one", status=400)
        if not content or len(content) != upload["file_size"]:
            return Response("File size differs from the staged one", status=400)
        with self.state.lock:
            upload["content"] = content
        return Response(status=201)

    def uploaded(self, url):
        """The upload a resourceUrl names, None unless its bytes arrived."""
        for upload in self.state.staged_uploads.values():
            if upload["resource_url"] == url and upload["content"] is not None:
                return upload
        return None


def _input_error(value, max_bytes):
    if value.get("resource") not in IMAGE_RESOURCES:
        return "Resource is not an image resource."
    if not str(value.get("mimeType") or "").startswith("image/"):
        return "Mime type is not an image type."
    if not value.get("filename"):
        return "Filename is required."
    size = int(value.get("fileSize") or 0)
    if not 0 < size <= max_bytes:
        return "File size is invalid."
    return None
