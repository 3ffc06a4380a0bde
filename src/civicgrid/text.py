"""Small text rules shared by every domain (names people type)."""

from __future__ import annotations

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
