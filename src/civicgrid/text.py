"""Small text rules shared by every domain: what text can be stored at all, how long a field may be, names.

Every text that enters — from the API, a page's form, the CLI or an imported file — passes ``checked_text`` (or
``refuse_unstorable`` for structured values) in the service that takes it, with the limit its column and its use
imply; ``civicgrid.db`` refuses whatever still slips through before it reaches the database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from civicgrid.errors import InvalidInputError

# NUL (PostgreSQL text cannot hold it) and a lone surrogate (no UTF-8 encoding: neither database, page nor JSON
# answer can carry it).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
UNSTORABLE_CODE = "unstorable_text"
TOO_LONG_CODE = "text_too_long"


def unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def unstorable_error(what: str, field: str | None = None) -> InvalidInputError:
    return InvalidInputError(
        f"{what}含有无法保存的字符（空字符或残缺的字符），请删除后重试",
        code=UNSTORABLE_CODE,
        detail={"field": field} if field else {},
    )


def unstorable_at(value: Any, path: str = "") -> str | None:
    """Where in ``value`` — a text, or a JSON-like structure of them, keys included — an unstorable character is
    (``answers.q1``, ``tags[2]``; ``path`` itself for a text), or None."""
    if isinstance(value, str):
        return path if unstorable(value) else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            found = path if isinstance(key, str) and unstorable(key) else unstorable_at(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list | tuple | set | frozenset):
        for number, item in enumerate(value):
            found = unstorable_at(item, f"{path}[{number}]")
            if found is not None:
                return found
    return None


def refuse_unstorable(value: Any, what: str, field: str | None = None) -> None:
    """Refuse ``value`` (a text or a JSON-like structure of them) holding an unstorable character."""
    found = unstorable_at(value, field or "")
    if found is not None:
        raise unstorable_error(what, found or field)


def checked_text(value: Any, limit: int, what: str, field: str | None = None) -> str:
    """``value`` as text, trimmed: refused when it holds an unstorable character or is longer than ``limit``."""
    text = str(value).strip()
    if unstorable(text):
        raise unstorable_error(what, field)
    if len(text) > limit:
        detail = {"field": field, "max_length": limit} if field else {"max_length": limit}
        raise InvalidInputError(f"{what}超过{limit}个字", code=TOO_LONG_CODE, detail=detail)
    return text


def optional_text(value: Any, limit: int, what: str, field: str | None = None) -> str | None:
    """``checked_text``, with blank (or None) as None."""
    if value is None:
        return None
    return checked_text(value, limit, what, field) or None


def checked_list(values: Any, *, count: int, length: int, what: str, field: str | None = None) -> list[str]:
    """A list of short texts (tags, keywords): each checked, blanks dropped, repeats removed, sorted; at most
    ``count`` of them."""
    items = values if isinstance(values, list | tuple | set | frozenset) else [values]
    if len(items) > count:
        raise InvalidInputError(f"{what}最多{count}个", code="too_many_items", detail={"max_items": count})
    return sorted({text for item in items if (text := checked_text(item, length, what, field))})


def clean_label(text: str, *, max_length: int = 100, what: str = "名称") -> str:
    """NFC-normalise and trim a name; refuse empty, over-long or control-character input (NUL among them)."""
    if _SURROGATE.search(text):
        raise unstorable_error(what)
    cleaned = unicodedata.normalize("NFC", text).strip()
    if not cleaned:
        raise InvalidInputError(f"{what}不能为空", code="empty_name")
    if len(cleaned) > max_length:
        raise InvalidInputError(f"{what}超过{max_length}个字", code="name_too_long", detail={"name": cleaned})
    if any(unicodedata.category(char) == "Cc" for char in cleaned):
        raise InvalidInputError(f"{what}中含有控制字符", code="invalid_name", detail={"name": cleaned})
    return cleaned


ELLIPSIS = "…"
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
_PAUSES = "，、,：:；; "


def headline(text: str, limit: int = 30) -> str:
    """A title made from a longer text: its first sentence when that fits, else the text cut at the last pause
    (comma, 、, colon, space) in the second half of the limit — never inside a Latin word or a number such as
    PM2.5 — with an ellipsis saying it goes on."""
    first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
    flat = " ".join(first.split())
    if len(flat) <= limit:
        return flat.rstrip(_PAUSES)
    cut = flat[: limit - 1]
    pause = max(cut.rfind(mark) for mark in _PAUSES)
    if pause >= limit // 2:
        cut = cut[:pause]
    elif _in_word(cut[-1]) and _in_word(flat[len(cut)]):
        start = len(cut)
        while start > 0 and _in_word(cut[start - 1]):
            start -= 1
        if start >= limit // 2:
            cut = cut[:start]
    return cut.rstrip(_PAUSES) + ELLIPSIS


def _in_word(char: str) -> bool:
    """Part of a Latin word or a number (PM2.5, 12.5, A3), which a cut must not split."""
    return char.isascii() and (char.isalnum() or char == ".")
