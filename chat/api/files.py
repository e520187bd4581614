"""Serving attachments: only through a signed, expiring, tenant-bound URL.

The URL is handed out only inside frames and pages of people who may see the message
(the conversation's agents, and its visitor for public messages), so holding a valid
one is the proof. A URL from another tenant fails the signature (the salt names the schema)."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.views.decorators.http import require_GET

from chat import selectors
from orbit.lib.storage import signed_url

INLINE = ("image", "audio")


@require_GET
def attachment_file(request, token: str):
    attachment_id = selectors.attachment_id_from_token(token)
    if attachment_id is None:
        raise Http404
    try:
        attachment = selectors.attachment_get(attachment_id=attachment_id)
    except selectors.NotFound:
        raise Http404 from None
    # On S3 (issue 15) the checked request is sent on to a presigned URL of a minute, the
    # object's own: the bytes never pass through the web process.
    url = signed_url(attachment.file, seconds=60, filename=attachment.original_name, inline=attachment.kind in INLINE)
    if url:
        return HttpResponseRedirect(url)
    try:
        handle = default_storage.open(attachment.file, "rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        content_type=attachment.content_type,
        as_attachment=attachment.kind not in INLINE,
        filename=attachment.original_name or None,
    )
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
