"""A campaign's form: questions with a type, a required flag, choices, and — for the answers that mean a problem —
the case category a hazard opens a case in (燃气安全隐患, 消防通道堵塞 …).

Forms are checked when a campaign is created (a bad form is refused before anyone walks out with it) and every
answer when it comes in, with the message naming the question. Three ready-made forms cover the seed reports'
campaigns: 入户摸排 of households, 走访 of elderly people living alone, 安全排查 of enterprises.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from civicgrid.cases.taxonomy import leaf_category
from civicgrid.errors import InvalidInputError, NotFoundError
from civicgrid.registry.kinds import MAX_NUMBER
from civicgrid.text import checked_text

YES, NO = "是", "否"
MAX_QUESTIONS = 50
MAX_CHOICES = 20
CHOICE_LENGTH = 50
LABEL_LENGTH = 100
ANSWER_LENGTH = 500  # a text answer: what the worker notes on the doorstep
RESIDENTS = "residents"  # the question whose answers add up to the people counted (共计N人)


class QuestionType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    CHOICE = "choice"
    YES_NO = "yes_no"


@dataclass(frozen=True)
class Question:
    key: str
    label: str
    type: QuestionType
    required: bool = False
    choices: tuple[str, ...] = ()
    hazard_when: str | None = None  # the answer that means a hazard
    hazard_category: str | None = None  # the case category it opens a case in (its code)

    def options(self) -> tuple[str, ...]:
        return (YES, NO) if self.type is QuestionType.YES_NO else self.choices

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "type": self.type.value,
            "required": self.required,
            "choices": list(self.choices),
            "hazard_when": self.hazard_when,
            "hazard_category": self.hazard_category,
        }


def from_json(stored: Sequence[Mapping[str, Any]]) -> list[Question]:
    return [
        Question(
            key=item["key"],
            label=item["label"],
            type=QuestionType(item["type"]),
            required=bool(item.get("required")),
            choices=tuple(item.get("choices") or ()),
            hazard_when=item.get("hazard_when"),
            hazard_category=item.get("hazard_category"),
        )
        for item in stored
    ]


_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def check_form(session: Session, raw: Sequence[Mapping[str, Any]]) -> list[Question]:
    """The questions as given (a hazard's category by code or by name), or a refusal naming the question."""
    if not raw:
        raise InvalidInputError("请至少设置一个问题", code="form_empty")
    if len(raw) > MAX_QUESTIONS:
        raise InvalidInputError(f"问题最多{MAX_QUESTIONS}个", code="form_too_long")
    questions: list[Question] = []
    for number, item in enumerate(raw, start=1):
        questions.append(_question(session, number, item))
    keys = [question.key for question in questions]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise InvalidInputError(f"问题编号重复：{'、'.join(repeated)}", code="form_key_repeated")
    return questions


def _question(session: Session, number: int, item: Mapping[str, Any]) -> Question:
    where = f"第{number}个问题"
    if not isinstance(item, Mapping):
        raise InvalidInputError(f"{where}应为一个对象（编号、题目、类型……）", code="form_bad_question")
    key = checked_text(item.get("key") or "", 32, f"{where}的编号")
    label = checked_text(item.get("label") or "", LABEL_LENGTH, f"{where}的题目")
    if not _KEY.match(key):
        raise InvalidInputError(f"{where}的编号“{key}”应为小写字母开头的字母、数字或下划线", code="form_bad_key")
    if not label:
        raise InvalidInputError(f"{where}缺少题目（最多{LABEL_LENGTH}字）", code="form_bad_label")
    try:
        kind = QuestionType(str(item.get("type") or ""))
    except ValueError as error:
        allowed = "、".join(t.value for t in QuestionType)
        raise InvalidInputError(f"{where}的类型应为：{allowed}", code="form_bad_type") from error
    given = item.get("choices") or ()
    if not isinstance(given, list | tuple) or len(given) > MAX_CHOICES:
        raise InvalidInputError(f"“{label}”的选项应为列表，最多{MAX_CHOICES}个", code="form_bad_choices")
    choices = tuple(text for choice in given if (text := checked_text(choice, CHOICE_LENGTH, f"“{label}”的选项")))
    if kind is QuestionType.CHOICE and len(choices) < 2:
        raise InvalidInputError(f"“{label}”至少需要两个选项", code="form_few_choices")
    question = Question(key, label, kind, bool(item.get("required")), choices if kind is QuestionType.CHOICE else ())
    when, category = item.get("hazard_when"), item.get("hazard_category")
    if when is None and category is None:
        return question
    if when not in question.options():
        raise InvalidInputError(f"“{label}”的隐患条件应为其选项之一", code="form_bad_hazard")
    return Question(
        **{**question.__dict__, "hazard_when": when, "hazard_category": _category(session, label, category)}
    )


def _category(session: Session, label: str, value: Any) -> str:
    """The code of the category a hazard answer opens its case in, named as intake takes a category."""
    text = checked_text(value or "", 100, f"“{label}”的隐患案件类别")
    try:
        return leaf_category(session, text).code
    except (InvalidInputError, NotFoundError) as error:
        raise InvalidInputError(f"“{label}”的隐患案件类别：{error.message}", code="form_bad_category") from error


def check_answers(questions: Sequence[Question], raw: Mapping[str, Any]) -> dict[str, Any]:
    """The answers as stored (numbers as numbers); an unknown key, a missing required answer or a value outside
    the choices is refused naming the question."""
    known = {question.key for question in questions}
    unknown = sorted(set(raw) - known)
    if unknown:
        named = "、".join(str(key)[:40] for key in unknown[:5]) + ("……" if len(unknown) > 5 else "")
        raise InvalidInputError(f"表单中没有这些问题：{named}", code="answer_unknown_question")
    answers: dict[str, Any] = {}
    for question in questions:
        value = raw.get(question.key)
        limit = 40 if question.type is QuestionType.NUMBER else ANSWER_LENGTH
        text = "" if value is None else checked_text(value, limit, f"“{question.label}”的回答", question.key)
        if not text:
            if question.required:
                raise InvalidInputError(
                    f"请回答“{question.label}”", code="answer_required", detail={"key": question.key}
                )
            continue
        answers[question.key] = _typed(question, text)
    return answers


def _typed(question: Question, text: str) -> Any:
    if question.type is QuestionType.NUMBER:
        try:
            number = float(text)
        except ValueError as error:
            raise InvalidInputError(
                f"“{question.label}”应填数字", code="answer_not_a_number", detail={"key": question.key}
            ) from error
        if not 0 <= number <= MAX_NUMBER:  # NaN and infinities too: JSON cannot hold them
            raise InvalidInputError(
                f"“{question.label}”应为0至{MAX_NUMBER:.0f}之间的数字",
                code="answer_negative" if number < 0 else "answer_out_of_range",
                detail={"key": question.key},
            )
        return int(number) if number.is_integer() else number
    if question.type in (QuestionType.CHOICE, QuestionType.YES_NO) and text not in question.options():
        allowed = "、".join(question.options())
        raise InvalidInputError(
            f"“{question.label}”应为：{allowed}", code="answer_not_a_choice", detail={"key": question.key}
        )
    return text


def hazards(questions: Sequence[Question], answers: Mapping[str, Any]) -> list[Question]:
    """The questions whose answer means a hazard."""
    return [q for q in questions if q.hazard_when is not None and answers.get(q.key) == q.hazard_when]


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    verb: str
    target_kind: str
    tag: str | None
    questions: tuple[dict[str, Any], ...]


PRESETS: tuple[Preset, ...] = (
    Preset(
        "household_survey",
        "入户摸排（房屋与人口核查）",
        "摸排",
        "house",
        None,
        (
            {"key": RESIDENTS, "label": "实际居住人数", "type": "number", "required": True},
            {"key": "occupancy", "label": "房屋使用状况", "type": "choice", "required": True,
             "choices": ["自住", "出租", "空置", "其他"]},
            {"key": "elderly_alone", "label": "是否有独居老人", "type": "yes_no", "required": True},
            {"key": "gas", "label": "是否存在燃气安全隐患", "type": "yes_no", "required": True,
             "hazard_when": YES, "hazard_category": "燃气安全隐患"},
            {"key": "note", "label": "备注", "type": "text"},
        ),
    ),
    Preset(
        "elderly_visit",
        "独居老人走访",
        "走访",
        "people",
        "独居老人",
        (
            {"key": "health", "label": "身体状况", "type": "choice", "required": True,
             "choices": ["良好", "一般", "较差"]},
            {"key": "needs_help", "label": "是否需要帮扶", "type": "yes_no", "required": True,
             "hazard_when": YES, "hazard_category": "养老服务"},
            {"key": "note", "label": "走访记录", "type": "text"},
        ),
    ),
    Preset(
        "enterprise_safety",
        "企业安全生产排查",
        "排查",
        "enterprise",
        None,
        (
            {"key": "fire_exit", "label": "消防通道", "type": "choice", "required": True, "choices": ["畅通", "堵塞"],
             "hazard_when": "堵塞", "hazard_category": "消防通道堵塞"},
            {"key": "safety", "label": "是否存在安全生产隐患", "type": "yes_no", "required": True,
             "hazard_when": YES, "hazard_category": "企业安全隐患"},
            {"key": "employees", "label": "在岗人数", "type": "number"},
            {"key": "note", "label": "备注", "type": "text"},
        ),
    ),
)  # fmt: skip
PRESET_BY_KEY = {preset.key: preset for preset in PRESETS}


# --- a form typed on the page, one question per line ---------------------------------------------------------------

FORM_TEXT_EXAMPLE = (
    "实际居住人数 | 数字 | 必答\n"
    "房屋使用状况 | 自住/出租/空置/其他 | 必答\n"
    "是否存在燃气安全隐患 | 是否 | 必答 | 是→燃气安全隐患\n"
    "备注 | 文本"
)
_TYPE_WORDS = {"数字": QuestionType.NUMBER, "文本": QuestionType.TEXT, "是否": QuestionType.YES_NO}


def parse_form_text(text: str) -> list[dict[str, Any]]:
    """Questions typed one per line: ``题目 | 类型 | 必答 | 答案→隐患案件类别``. The type is 数字, 文本, 是否, or the
    choices separated by “/”; 必答 and the hazard are optional. A number question about 居住人数 is the one the report
    sentence adds up (共计N人). Checked again by ``check_form`` like any form."""
    questions: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in re.split(r"[|｜]", line)]
        if len(parts) < 2 or not parts[0]:
            raise InvalidInputError(
                f"第{number}行应为“题目 | 类型”，如 {FORM_TEXT_EXAMPLE.splitlines()[0]}", code="form_line"
            )
        questions.append(_typed_line(number, len(questions) + 1, parts))
    return questions


def _typed_line(number: int, position: int, parts: list[str]) -> dict[str, Any]:
    label, kind = parts[0], parts[1]
    question: dict[str, Any] = {"key": f"q{position}", "label": label, "required": False}
    if kind in _TYPE_WORDS:
        question["type"] = _TYPE_WORDS[kind].value
    elif re.search(r"[/／、]", kind):
        question["type"] = QuestionType.CHOICE.value
        question["choices"] = [choice.strip() for choice in re.split(r"[/／、]", kind) if choice.strip()]
    else:
        raise InvalidInputError(
            f"第{number}行的类型“{kind}”应为 数字、文本、是否，或用“/”分隔的选项", code="form_line_type"
        )
    if question["type"] == QuestionType.NUMBER.value and "居住人数" in label:
        question["key"] = RESIDENTS
    for extra in parts[2:]:
        hazard = re.fullmatch(r"(.+?)\s*(?:→|->)\s*(.+)", extra)
        if extra in ("必答", "必填"):
            question["required"] = True
        elif hazard:
            question["hazard_when"], question["hazard_category"] = hazard.group(1).strip(), hazard.group(2).strip()
        elif extra:
            raise InvalidInputError(
                f"第{number}行的“{extra}”无法识别：可写 必答，或 答案→隐患案件类别", code="form_line_extra"
            )
    return question


def form_text(questions: Sequence[Mapping[str, Any]], category_names: Mapping[str, str] | None = None) -> str:
    """A form written back as the lines ``parse_form_text`` reads (a ready-made form shown as an example)."""
    names = category_names or {}
    lines = []
    for item in questions:
        kind = {"number": "数字", "text": "文本", "yes_no": "是否"}.get(item["type"]) or "/".join(
            item.get("choices") or []
        )
        parts = [item["label"], kind] + (["必答"] if item.get("required") else [])
        if item.get("hazard_when"):
            category = item.get("hazard_category") or ""
            parts.append(f"{item['hazard_when']}→{names.get(category, category)}")
        lines.append(" | ".join(parts))
    return "\n".join(lines)
