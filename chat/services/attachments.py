"""Attachments: content sniffing, the storage path, plan checks and signed URLs.

The type is decided by the bytes, never by the file name or the browser's Content-Type.
Stored names carry the schema (DESIGN.md, Files): tenants/<schema>/uploads/<kind>s/…
Files are private: a URL is signed with a tenant-bound salt and expires."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext as _

from chat import selectors
from chat.models import Attachment
from chat.selectors.messages import URL_MAX_AGE, attachment_id_from_token, attachment_ref, attachment_url
from chat.selectors.plan import DEFAULT_MAX_BYTES, plan_has_feature
from chat.services import usage
from chat.services.messages import StoredFile
from orbit.lib.errors import OrbitError
from orbit.lib.storage import tenant_prefix
from orbit.lib.tenancy import current_organization

# Signed URLs and references are reads (chat.selectors.messages); imported here for callers
# of this module's old names.
__all__ = ["DEFAULT_MAX_BYTES", "URL_MAX_AGE", "Sniffed", "UploadError", "attachment_id_from_token",
           "attachment_ref", "attachment_url", "file_discard", "file_store", "max_upload_bytes", "sniff",
           "storage_name"]


class UploadError(OrbitError, ValueError):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message, code=code, status=status)


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


def max_upload_bytes(organization=None) -> int:
    """chat.selectors.max_upload_bytes of the organization (None: the connection's tenant)."""
    return selectors.max_upload_bytes(organization if organization is not None else current_organization())


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    return f"{size // 1024} KB" if size >= 1024 else f"{size} bytes"


def file_store(*, organization=None, upload, original_name: str = "") -> StoredFile:
    """Check an uploaded file (feature, size, type, storage quota) and save it.

    Raises UploadError and stores nothing when refused. The caller links the StoredFile
    to a message with message_send(attachments=[...]) or deletes it (file_discard)."""
    organization = organization if organization is not None else current_organization()
    size = upload.size
    if not plan_has_feature(organization, "files") and not plan_has_feature(organization, "audio"):
        raise UploadError("feature_off", _("O seu plano não inclui o envio de arquivos."), 403)
    if size is None or size <= 0:
        raise UploadError("empty", _("O arquivo está vazio."))
    limit = selectors.max_upload_bytes(organization)
    if size > limit:
        raise UploadError("too_large", _("O arquivo passa de %(size)s, o limite do seu plano.") % {"size": _size_text(limit)}, 413)
    upload.seek(0)
    head = upload.read(4096)
    upload.seek(0)
    kind = sniff(head)
    if kind is None:
        raise UploadError("bad_type", _("Este tipo de arquivo não é aceito."), 415)
    feature = "audio" if kind.kind == Attachment.Kind.AUDIO else "files"
    if not plan_has_feature(organization, feature):
        message = _("O seu plano não inclui mensagens de áudio.") if feature == "audio" else _("O seu plano não inclui o envio de arquivos.")
        raise UploadError("feature_off", message, 403)
    try:
        usage.require_storage(organization=organization, size=size)
    except usage.LimitReached as exc:
        raise UploadError("limit_reached", exc.reason, 403) from None
    name = storage_name(schema=organization.schema_name, kind=kind.kind, extension=kind.extension)
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
