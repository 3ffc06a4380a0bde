"""What every import reports back: what went in, and every rejected row or feature with its index and reason.

Imports are all-or-nothing by default: with any rejection nothing is written (``applied`` is False). With
``keep_good`` the good part goes in and the report still names every rejected item.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civicgrid.errors import CivicgridError, InvalidInputError, problems_of


@dataclass(frozen=True)
class Rejected:
    index: int  # row number as a spreadsheet shows it (header = 1), or 1-based feature number
    ref: str  # what the item called itself (code, name), to find it in the file
    reason: str  # Chinese, for people: every problem of the item, joined
    code: str  # stable machine reason (of the first problem)
    problems: tuple[tuple[str, str], ...] = ()  # (reason, code) of each problem, when there are several

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(reason for reason, _ in self.problems) or (self.reason,)

    def to_dict(self) -> dict[str, Any]:
        problems = self.problems or ((self.reason, self.code),)
        return {
            "index": self.index,
            "ref": self.ref,
            "reason": self.reason,
            "code": self.code,
            "problems": [{"reason": reason, "code": code} for reason, code in problems],
        }


@dataclass
class ImportReport:
    source: str
    item_label: str = "行"  # "行" for rows, "个要素" for GeoJSON features
    total: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    applied: bool = False
    keep_good: bool = False

    def reject(self, index: int, ref: str, error: CivicgridError | str, code: str = "invalid") -> None:
        """One refused item, with every problem an error collected (``errors.Problems``) listed apart."""
        if isinstance(error, CivicgridError):
            parts = [(problem.message, problem.code) for problem in problems_of(error)]
            self.rejected.append(
                Rejected(index, ref, error.message, error.code, tuple(parts) if len(parts) > 1 else ())
            )
        else:
            self.rejected.append(Rejected(index, ref, error, code))

    @property
    def ok(self) -> bool:
        return not self.rejected

    @property
    def should_apply(self) -> bool:
        return self.ok or self.keep_good

    def summary(self) -> str:
        state = "已写入" if self.applied else "未写入任何数据"
        text = (
            f"{self.source}：共{self.total}{self.item_label}，新增{len(self.created)}，更新{len(self.updated)}，"
            f"未变{len(self.unchanged)}，拒绝{len(self.rejected)}（{state}）"
        )
        if self.rejected and not self.keep_good:
            text += "。如需只导入无误的部分，请使用“保留有效部分”选项"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": len(self.unchanged),
            "rejected": [r.to_dict() for r in self.rejected],
            "warnings": self.warnings,
            "applied": self.applied,
            "summary": self.summary(),
        }


def read_text_file(path: Path) -> str:
    """Read a text file that may be UTF-8 (with or without BOM) or GB18030, as Chinese offices export both."""
    return decode_text(path.read_bytes(), path.name)


def decode_text(raw: bytes, name: str) -> str:
    """Bytes of a text file as UTF-8 (with or without BOM) or GB18030; ``name`` for the error."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInputError(f"无法识别文件编码：{name}（应为 UTF-8 或 GBK/GB18030）", code="unknown_encoding")


def csv_rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (spreadsheet row number, row) with header names and values stripped; the header is row 1."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise InvalidInputError("文件为空或没有表头", code="empty_file")
    reader.fieldnames = [name.strip() for name in reader.fieldnames]
    for offset, row in enumerate(reader):
        yield offset + 2, {key: (value or "").strip() for key, value in row.items() if key is not None}
