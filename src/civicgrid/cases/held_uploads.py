"""Photos kept for a form that was refused, so that nobody has to choose them again.

A browser cannot refill a file input: when a report or an action is refused (a category that does not exist, a
missing reason), the photos it carried would be lost. They are held on the server instead, each under a random
token the form sends back, and attached when the form goes through. Held photos belong to their sender (a user,
or an anonymous visitor's browser by its CSRF cookie): another sender's token finds nothing. They are checked
like attachments (size, kind by their bytes), bounded per sender (the oldest go first) and deleted once attached,
and after ``LIFETIME`` by the scheduler — a form abandoned half-way leaves nothing behind for long.

Files only, no table: var_dir/held/<sender>/<token>.bin with its description beside it in <token>.json.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from civicgrid import timesource
from civicgrid.cases.attachments import Upload, sniff
from civicgrid.errors import InvalidInputError
from civicgrid.settings import Settings

LIFETIME = dt.timedelta(hours=2)
MAX_PER_SENDER = 18  # two forms' worth of photos (9 each); beyond it the oldest held photos are dropped
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{24}$")


@dataclass(frozen=True)
class HeldUpload:
    token: str
    filename: str
    media_type: str
    size: int
    held_at: dt.datetime


def sender_key(user_id: int | None, anonymous_token: str | None) -> str:
    """Whose held photos these are: a signed-in user, else a visitor's browser (its secret cookie, hashed)."""
    if user_id is not None:
        return f"user-{user_id}"
    if not anonymous_token:
        raise InvalidInputError("无法保留照片：请刷新页面后重新选择", code="no_sender")
    return "visitor-" + hashlib.sha256(anonymous_token.encode()).hexdigest()[:32]


def hold(settings: Settings, sender: str, uploads: list[Upload]) -> tuple[list[HeldUpload], list[str]]:
    """Keep the photos that pass the attachment checks; the others are named in the problems returned."""
    held: list[HeldUpload] = []
    problems: list[str] = []
    folder = _folder(settings, sender)
    for upload in uploads:
        try:
            media_type = _checked(settings, upload)
        except InvalidInputError as error:
            problems.append(error.message)
            continue
        token = secrets.token_urlsafe(18)
        entry = HeldUpload(token, Path(upload.filename or "照片").name[:200], media_type, len(upload.content), _now())
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{token}.bin").write_bytes(upload.content)
        (folder / f"{token}.json").write_text(json.dumps(_described(entry), ensure_ascii=False), encoding="utf-8")
        held.append(entry)
    _drop_oldest(folder)
    return held, problems


def held(settings: Settings, sender: str, tokens: list[str]) -> list[HeldUpload]:
    """The sender's photos under these tokens that are still held, in the order given; others are ignored."""
    folder = _folder(settings, sender)
    found = []
    for token in dict.fromkeys(tokens):
        entry = _read(folder, token)
        if entry is not None:
            found.append(entry)
    return found


def claimed(settings: Settings, sender: str, tokens: list[str]) -> list[Upload]:
    """The held photos' contents, to attach as if chosen again."""
    folder = _folder(settings, sender)
    return [
        Upload(entry.filename, (folder / f"{entry.token}.bin").read_bytes()) for entry in held(settings, sender, tokens)
    ]


def content(settings: Settings, sender: str, token: str) -> tuple[HeldUpload, Path] | None:
    """One held photo for its sender (a preview on the form), or None for anyone else."""
    folder = _folder(settings, sender)
    entry = _read(folder, token)
    return (entry, folder / f"{token}.bin") if entry is not None else None


def release(settings: Settings, sender: str, tokens: list[str]) -> None:
    """Attached (or removed by the sender): no longer held."""
    folder = _folder(settings, sender)
    for token in tokens:
        if _TOKEN.match(token):
            _delete(folder, token)


def purge_expired(settings: Settings) -> int:
    """Delete every held photo older than ``LIFETIME`` (the scheduler's run); returns how many."""
    root = settings.var_dir / "held"
    if not root.is_dir():
        return 0
    purged = 0
    for folder in root.iterdir():
        for token in {path.stem for path in folder.iterdir()}:
            if _expired(folder, token):
                _delete(folder, token)
                purged += 1
        if not any(folder.iterdir()):
            folder.rmdir()
    return purged


def _checked(settings: Settings, upload: Upload) -> str:
    if not upload.content:
        raise InvalidInputError(f"照片“{upload.filename}”是空文件，请重新选择", code="empty_file")
    if len(upload.content) > settings.attachment_max_bytes:
        limit = settings.attachment_max_bytes / 1024 / 1024
        raise InvalidInputError(f"照片“{upload.filename}”超过{limit:g}MB，请压缩后重新选择", code="file_too_large")
    media_type, _ = sniff(upload.content)
    return media_type


def _folder(settings: Settings, sender: str) -> Path:
    return settings.var_dir / "held" / hashlib.sha256(sender.encode()).hexdigest()[:32]


def _now() -> dt.datetime:
    return timesource.now()


def _described(entry: HeldUpload) -> dict[str, object]:
    return {"filename": entry.filename, "media_type": entry.media_type, "size": entry.size,
            "held_at": entry.held_at.isoformat()}  # fmt: skip


def _read(folder: Path, token: str, *, expired_too: bool = False) -> HeldUpload | None:
    if not _TOKEN.match(token):
        return None
    try:
        data = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
        entry = HeldUpload(
            token, str(data["filename"]), str(data["media_type"]), int(data["size"]),
            dt.datetime.fromisoformat(str(data["held_at"])),
        )  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not (folder / f"{token}.bin").is_file():
        return None
    if not expired_too and entry.held_at + LIFETIME < _now():
        return None
    return entry


def _expired(folder: Path, token: str) -> bool:
    """Past its lifetime — or half-written (a crash between its two files) and older than that."""
    entry = _read(folder, token, expired_too=True)
    if entry is not None:
        return entry.held_at + LIFETIME < _now()
    times = [path.stat().st_mtime for path in folder.glob(f"{token}.*")]
    return not times or dt.datetime.fromtimestamp(max(times), dt.UTC) + LIFETIME < _now()


def _drop_oldest(folder: Path) -> None:
    if not folder.is_dir():
        return
    entries = [entry for path in folder.glob("*.json") if (entry := _read(folder, path.stem, expired_too=True))]
    entries.sort(key=lambda entry: entry.held_at)
    for entry in entries[: max(0, len(entries) - MAX_PER_SENDER)]:
        _delete(folder, entry.token)


def _delete(folder: Path, token: str) -> None:
    for suffix in (".bin", ".json"):
        (folder / f"{token}{suffix}").unlink(missing_ok=True)
