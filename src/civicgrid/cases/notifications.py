"""What the case engine tells departments, through the outbox (same transaction as the change)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from civicgrid.cases.models import Case
from civicgrid.notify.outbox import enqueue
from civicgrid.org.models import Department
from civicgrid.settings import Settings


def channels(settings: Settings) -> list[str]:
    """Log always (an operator can read what was sent); the webhook when one is configured."""
    return ["log", *(["webhook"] if settings.notify_webhook_url else [])]


def notify_departments(
    session: Session, settings: Settings, kind: str, case: Case, departments: Sequence[Department], subject: str
) -> None:
    body = f"{case.title}（{case.number}）"
    payload = {"number": case.number, "state": case.state, "scope_code": case.scope_code}
    seen: set[int] = set()
    for department in departments:
        if department.id in seen:
            continue
        seen.add(department.id)
        for channel in channels(settings):
            enqueue(
                session,
                kind=kind,
                channel=channel,
                recipient=department.code,
                subject=subject,
                body=body,
                payload=payload,
                case_id=case.id,
            )
