"""Small text rules shared by every domain (names people type)."""

from __future__ import annotations

import re
import unicodedata

from civicgrid.errors import InvalidInputError


def clean_label(text: str, *, max_length: int = 100, what: str = "名称") -> str:
    """NFC-normalise and trim a name; refuse empty, over-long or control-character input."""
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
