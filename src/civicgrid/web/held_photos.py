"""The photos of a form that may be refused: chosen now, or kept from the refused try before (``cases.held_uploads``).

Every form with a photo field (the hotline form, the grid worker's report, the residents' report, a case action)
reads its photos through ``photos_of``: after a refusal ``keep`` holds the new ones and the page lists all kept
photos (a preview, a box to untick), and the next submission attaches them with any chosen then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from civicgrid.cases import held_uploads
from civicgrid.cases.attachments import Upload
from civicgrid.cases.held_uploads import HeldUpload
from civicgrid.errors import InvalidInputError, NotFoundError
from civicgrid.http import csrf
from civicgrid.http.deps import CSRF_CHECKED, CurrentActor
from civicgrid.http.routing import session_router
from civicgrid.http.security import uploaded_file
from civicgrid.org.actor import Actor
from civicgrid.settings import Settings

router = session_router(include_in_schema=False, dependencies=CSRF_CHECKED)
KEPT_FIELD = "kept_photos"
MAX_FILES = 9


def sender_of(request: Request, actor: Actor) -> str:
    anonymous = None if actor.user_id is not None else csrf.anonymous_token(request)
    return held_uploads.sender_key(actor.user_id, anonymous)


@dataclass
class Photos:
    """A submission's photos: the tokens of those kept from before, and the files chosen now (read, bounded)."""

    settings: Settings
    sender: str
    kept: list[str]
    chosen: list[Upload]
    overflow: bool = False  # more files chosen than a form takes
    held: list[HeldUpload] = field(default_factory=list)

    def uploads(self) -> list[Upload]:
        """Everything to attach: the kept photos, then the chosen ones."""
        if self.overflow or len(self.kept) + len(self.chosen) > MAX_FILES:
            raise InvalidInputError(f"一次最多上传{MAX_FILES}个文件", code="too_many_files")
        return held_uploads.claimed(self.settings, self.sender, self.kept) + self.chosen

    def keep(self, errors: dict[str, str]) -> list[HeldUpload]:
        """After a refusal: hold the chosen photos and list every kept one; a chosen file that cannot be kept
        (not a photo, too large) is named next to the photo field."""
        new, problems = held_uploads.hold(self.settings, self.sender, self.chosen[:MAX_FILES])
        self.held = held_uploads.held(self.settings, self.sender, self.kept) + new
        if problems and "photos" not in errors:
            errors["photos"] = "；".join(problems)
        return self.held

    def done(self) -> None:
        """Attached: no longer held."""
        held_uploads.release(self.settings, self.sender, self.kept)


def photos_of(request: Request, actor: Actor, form: FormData, name: str = "photos") -> Photos:
    files = [item for item in form.getlist(name) if isinstance(item, UploadFile)]
    return photos_from(request, actor, files, [token for token in form.getlist(KEPT_FIELD) if isinstance(token, str)])


def photos_from(request: Request, actor: Actor, files: Sequence[UploadFile], kept: list[str]) -> Photos:
    """The photos of a submission: each chosen file read up to one byte past the size limit (an oversized one is
    refused without reading it all), at most one file past the form's limit."""
    settings: Settings = request.app.state.settings
    named = [item for item in files if item.filename][: MAX_FILES + 1]
    chosen = [Upload(item.filename or "照片", item.file.read(settings.attachment_max_bytes + 1)) for item in named]
    return Photos(settings, sender_of(request, actor), kept[:MAX_FILES], chosen[:MAX_FILES], len(named) > MAX_FILES)


@router.get("/uploads/held/{token}")
def held_photo(request: Request, actor: CurrentActor, token: str) -> Response:
    """A kept photo's preview, for its sender only."""
    found = held_uploads.content(request.app.state.settings, sender_of(request, actor), token)
    if found is None:
        raise NotFoundError("照片已过期或不存在", code="held_upload_not_found")
    entry, path = found
    return uploaded_file(path, entry.media_type, entry.filename, "no-store")
