"""Attachments (photos, documents) stored on disk by content hash, with type and size checks.

The type is decided by the file's first bytes, not by its name or the browser's claim.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from civicgrid.cases.models import Attachment, Case, CaseEvent
from civicgrid.errors import InvalidInputError
from civicgrid.settings import Settings

# (magic bytes at offset, offset, media type, extension)
_SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "png"),
    (b"WEBP", 8, "image/webp", "webp"),
    (b"ftypheic", 4, "image/heic", "heic"),
    (b"ftypheix", 4, "image/heic", "heic"),
    (b"ftypmif1", 4, "image/heif", "heif"),
    (b"%PDF-", 0, "application/pdf", "pdf"),
)


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes


def sniff(content: bytes) -> tuple[str, str]:
    for magic, offset, media_type, extension in _SIGNATURES:
        if content[offset : offset + len(magic)] == magic:
            if media_type == "image/webp" and not content.startswith(b"RIFF"):
                continue
            return media_type, extension
    raise InvalidInputError(
        "不支持的文件类型：只接受 JPEG、PNG、WebP、HEIC 照片和 PDF 文件", code="unsupported_file_type"
    )


def attachment_path(settings: Settings, sha256: str, extension: str) -> Path:
    return settings.var_dir / "attachments" / sha256[:2] / sha256[2:4] / f"{sha256}.{extension}"


def attach(session: Session, settings: Settings, case: Case, event: CaseEvent | None, upload: Upload) -> Attachment:
    content = upload.content
    if not content:
        raise InvalidInputError(f"文件“{upload.filename}”是空的", code="empty_file")
    if len(content) > settings.attachment_max_bytes:
        limit_mb = settings.attachment_max_bytes / 1024 / 1024
        raise InvalidInputError(
            f"文件“{upload.filename}”超过{limit_mb:g}MB", code="file_too_large", detail={"size": len(content)}
        )
    media_type, extension = sniff(content)
    digest = hashlib.sha256(content).hexdigest()
    _store(attachment_path(settings, digest, extension), content)
    attachment = Attachment(
        case_id=case.id,
        event_id=event.id if event else None,
        sha256=digest,
        media_type=media_type,
        size=len(content),
        original_name=Path(upload.filename or "upload").name[:200],
    )
    session.add(attachment)
    session.flush()
    return attachment


def _store(path: Path, content: bytes) -> None:
    """Write once, atomically; identical content is stored once however often it is attached."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


_EXTENSIONS = {media_type: extension for _, _, media_type, extension in _SIGNATURES}


def stored_path(settings: Settings, attachment: Attachment) -> Path:
    """Where an attachment's file lies on disk."""
    return attachment_path(settings, attachment.sha256, _EXTENSIONS.get(attachment.media_type, "bin"))
