"""Attachments: content sniffing, the storage path, plan checks and signed URLs.

The type is decided by the bytes, never by the file name or the browser's Content-Type.
Stored names carry the schema (DESIGN.md, Files): tenants/<schema>/uploads/<kind>s/…
Files are private: a URL is signed with a tenant-bound salt and expires."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from chat.models import Attachment
from chat.services import usage
from chat.services.messages import StoredFile
from orbit.lib.storage import tenant_prefix

URL_MAX_AGE = 3600  # seconds a file URL stays valid
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


class UploadError(ValueError):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Sniffed:
    kind: str
    content_type: str
    extension: str


_ZIP_OFFICE = {
    b"word/": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
    b"xl/": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    b"ppt/": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx"),
}
_ODF = {
    b"application/vnd.oasis.opendocument.text": ".odt",
    b"application/vnd.oasis.opendocument.spreadsheet": ".ods",
    b"application/vnd.oasis.opendocument.presentation": ".odp",
}


def sniff(head: bytes) -> Sniffed | None:
    """The type of a file from its first bytes (at least 4 KB), or None if not accepted."""
    img, doc, audio = Attachment.Kind.IMAGE, Attachment.Kind.DOCUMENT, Attachment.Kind.AUDIO
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed(img, "image/png", ".png")
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed(img, "image/jpeg", ".jpg")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed(img, "image/gif", ".gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed(img, "image/webp", ".webp")
    if head.startswith(b"%PDF-"):
        return Sniffed(doc, "application/pdf", ".pdf")
    if head.startswith(b"PK\x03\x04"):
        # OOXML: the first entries name word/, xl/ or ppt/ parts; ODF: "mimetype" first, stored.
        if head[30:38] == b"mimetype":
            for mime, ext in _ODF.items():
                if head[38 : 38 + len(mime)] == mime:
                    return Sniffed(doc, mime.decode(), ext)
        if b"[Content_Types].xml" in head or any(marker in head for marker in _ZIP_OFFICE):
            for marker, (mime, ext) in _ZIP_OFFICE.items():
                if marker in head:
                    return Sniffed(doc, mime, ext)
        return None  # a plain zip: could carry anything
    if head.startswith(b"OggS"):
        return Sniffed(audio, "audio/ogg", ".ogg")
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: MediaRecorder's webm/opus
        return Sniffed(audio, "audio/webm", ".webm")
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06):
        return Sniffed(audio, "audio/mpeg", ".mp3")
    if head[4:8] == b"ftyp" and head[8:11] in (b"M4A", b"mp4", b"iso", b"das"):
        return Sniffed(audio, "audio/mp4", ".m4a")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Sniffed(audio, "audio/wav", ".wav")
    if _is_text(head):
        return Sniffed(doc, "text/plain", ".txt")
    return None


def _is_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # only a character cut at the end of the sample is fine
            return False
    return True


def storage_name(*, schema: str, kind: str, extension: str) -> str:
    """The one place upload paths are built: tenants/<schema>/uploads/<kind>s/<yyyy>/<mm>/<uuid><ext>."""
    today = timezone.now()
    folder = {"image": "images", "document": "documents", "audio": "audio"}[kind]
    return f"{tenant_prefix(schema)}uploads/{folder}/{today:%Y}/{today:%m}/{uuid.uuid4().hex}{extension}"


def max_upload_bytes() -> int:
    """The largest file this tenant may send: its plan's size, under the platform's ceiling
    (ORBIT_CHAT_MAX_UPLOAD_BYTES, what the proxy and server accept at all)."""
    ceiling = int(getattr(settings, "ORBIT_CHAT_MAX_UPLOAD_BYTES", DEFAULT_MAX_BYTES))
    plan_limit = getattr(getattr(usage.organization(), "plan", None), "max_upload_bytes", None)
    return min(ceiling, plan_limit) if plan_limit else ceiling


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    return f"{size // 1024} KB" if size >= 1024 else f"{size} bytes"


def file_store(*, upload, original_name: str = "") -> StoredFile:
    """Check an uploaded file (feature, size, type, storage quota) and save it.

    Raises UploadError and stores nothing when refused. The caller links the StoredFile
    to a message with message_send(attachments=[...]) or deletes it (file_discard)."""
    size = upload.size
    if not usage.plan_has_feature("files") and not usage.plan_has_feature("audio"):
        raise UploadError("feature_off", _("O seu plano não inclui o envio de arquivos."), 403)
    if size is None or size <= 0:
        raise UploadError("empty", _("O arquivo está vazio."))
    limit = max_upload_bytes()
    if size > limit:
        raise UploadError("too_large", _("O arquivo passa de %(size)s, o limite do seu plano.") % {"size": _size_text(limit)}, 413)
    upload.seek(0)
    head = upload.read(4096)
    upload.seek(0)
    kind = sniff(head)
    if kind is None:
        raise UploadError("bad_type", _("Este tipo de arquivo não é aceito."), 415)
    feature = "audio" if kind.kind == Attachment.Kind.AUDIO else "files"
    if not usage.plan_has_feature(feature):
        message = _("O seu plano não inclui mensagens de áudio.") if feature == "audio" else _("O seu plano não inclui o envio de arquivos.")
        raise UploadError("feature_off", message, 403)
    try:
        usage.require_storage(size=size)
    except usage.LimitReached as exc:
        raise UploadError("limit_reached", exc.reason, 403) from None
    name = storage_name(schema=connection.schema_name, kind=kind.kind, extension=kind.extension)
    saved = default_storage.save(name, File(upload))
    return StoredFile(
        name=saved,
        kind=kind.kind,
        content_type=kind.content_type,
        size=size,
        original_name=(original_name or getattr(upload, "name", "") or "")[:200],
    )


def file_discard(stored: StoredFile) -> None:
    default_storage.delete(stored.name)


# --- signed URLs ----------------------------------------------------------------------


def _salt() -> str:
    return f"chat.attachment:{connection.schema_name}"


def attachment_url(attachment: Attachment) -> str:
    token = signing.dumps(attachment.pk, salt=_salt(), compress=False)
    return reverse("chat_api:attachment_file", kwargs={"token": token})


def attachment_id_from_token(token: str) -> int | None:
    try:
        value = signing.loads(token, salt=_salt(), max_age=URL_MAX_AGE)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None


def attachment_ref(attachment: Attachment) -> dict:
    return {
        "id": attachment.pk,
        "kind": attachment.kind,
        "name": attachment.original_name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": attachment_url(attachment),
    }
