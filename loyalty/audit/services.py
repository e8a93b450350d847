"""Writing to the audit log.  Called by other services, inside their transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from loyalty.audit.models import AuditEvent


def record_event(session: Session, actor: str, action: str, subject: str, **detail: Any) -> None:
    """Append one audit event; it commits or rolls back with the change it describes."""
    session.add(AuditEvent(actor=actor, action=action, subject=subject, detail=detail))
