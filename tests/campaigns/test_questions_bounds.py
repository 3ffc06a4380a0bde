"""A visit's answers and a campaign's form are held to what their use and JSON can hold: numbers finite and
bounded (no NaN or infinity, which PostgreSQL's JSON refuses), texts and lists of a bounded length, no NUL."""

from __future__ import annotations

import pytest

from civicgrid.campaigns.questions import (
    ANSWER_LENGTH,
    MAX_CHOICES,
    MAX_QUESTIONS,
    Question,
    QuestionType,
    check_answers,
    check_form,
)
from civicgrid.errors import InvalidInputError

FORM = [
    Question("residents", "实际居住人数", QuestionType.NUMBER, required=True),
    Question("note", "备注", QuestionType.TEXT),
]


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        ({"residents": "1e400"}, "answer_out_of_range"),
        ({"residents": "nan"}, "answer_out_of_range"),
        ({"residents": float("inf")}, "answer_out_of_range"),
        ({"residents": "-1"}, "answer_negative"),
        ({"residents": 3, "note": "记" * (ANSWER_LENGTH + 1)}, "text_too_long"),
        ({"residents": 3, "note": "门\x00口"}, "unstorable_text"),
        ({"residents": 3, **{f"x{n}": 1 for n in range(100_000)}}, "answer_unknown_question"),
    ],
)
def test_answers_beyond_what_their_question_holds_are_refused(answers: dict[str, object], code: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_answers(FORM, answers)
    assert refused.value.code == code
    assert len(refused.value.message) < 300  # a hundred thousand unknown keys are not all repeated back


def test_answers_within_bounds_are_kept_as_typed() -> None:
    assert check_answers(FORM, {"residents": "3", "note": " 独居 "}) == {"residents": 3, "note": "独居"}


@pytest.mark.parametrize(
    "form",
    [
        [{"key": f"q{n}", "label": f"问题{n}", "type": "text"} for n in range(MAX_QUESTIONS + 1)],
        [{"key": "q1", "label": "题" * 101, "type": "text"}],
        [{"key": "q1", "label": "状况", "type": "choice", "choices": [str(n) for n in range(MAX_CHOICES + 1)]}],
        [{"key": "q1", "label": "状况", "type": "choice", "choices": ["好", "坏" * 51]}],
        ["不是一个问题"],
    ],
)
def test_a_form_beyond_its_bounds_is_refused_before_the_database(form: list[object]) -> None:
    with pytest.raises(InvalidInputError):
        check_form(None, form)  # type: ignore[arg-type]  # refused before any lookup
