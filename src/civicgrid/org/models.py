"""Tables of the organisation: departments (a tree), users, their roles and grid scopes."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicgrid.db import Base, UTCDateTime, sql_in_list, utcnow
from civicgrid.org.roles import Role


class DepartmentKind(StrEnum):
    DISTRICT_BUREAU = "district_bureau"
    STREET_OFFICE = "street_office"
    STREET_SECTION = "street_section"
    COMMAND_CENTER = "command_center"
    COMMUNITY = "community"
    UTILITY = "utility"

    @property
    def label(self) -> str:
        return DEPARTMENT_KIND_LABELS[self]


DEPARTMENT_KIND_LABELS: dict[DepartmentKind, str] = {
    DepartmentKind.DISTRICT_BUREAU: "区职能部门",
    DepartmentKind.STREET_OFFICE: "街道办事处",
    DepartmentKind.STREET_SECTION: "街道科室",
    DepartmentKind.COMMAND_CENTER: "指挥中心",
    DepartmentKind.COMMUNITY: "社区/村",
    DepartmentKind.UTILITY: "公共事业单位",
}


class Department(Base):
    """A unit that cases are dispatched to: a district bureau, a street section, the command centre …"""

    __tablename__ = "department"
    __table_args__ = (
        CheckConstraint(sql_in_list("kind", [kind.value for kind in DepartmentKind]), name="kind_known"),
        Index(None, "parent_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(24))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="RESTRICT"))
    # The part of the grid the department belongs to (a street's own sections belong to that street).
    grid_node_id: Mapped[int | None] = mapped_column(ForeignKey("grid_node.id", ondelete="RESTRICT"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    parent: Mapped[Department | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Department]] = relationship(back_populates="parent")


class User(Base):
    __tablename__ = "app_user"
    __table_args__ = (Index(None, "department_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    # argon2id hash; None means the account cannot sign in (e.g. created for assignment only).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    # Works on the whole grid. Granted explicitly (never inferred from an empty scope), only by someone who has it.
    all_grids: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    department: Mapped[Department | None] = relationship()
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    grid_scopes: Mapped[list[UserGridScope]] = relationship(cascade="all, delete-orphan", passive_deletes=True)

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(row.role) for row in self.role_rows)


class UserRole(Base):
    __tablename__ = "user_role"
    __table_args__ = (CheckConstraint(sql_in_list("role", [role.value for role in Role]), name="role_known"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(24), primary_key=True)


class UserGridScope(Base):
    """A grid subtree a user works on (besides grids they are assigned to as grid worker)."""

    __tablename__ = "user_grid_scope"
    __table_args__ = (Index(None, "grid_node_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    grid_node_id: Mapped[int] = mapped_column(ForeignKey("grid_node.id", ondelete="RESTRICT"), primary_key=True)


class ApiToken(Base):
    """A bearer token for systems and scripts acting as a user (the hotline system pushing cases, say).

    Only the SHA-256 of the token is stored; the token itself is shown once, when it is created.
    """

    __tablename__ = "api_token"
    __table_args__ = (Index(None, "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A signed-in browser. The cookie carries a random token; only its SHA-256 is stored, so a copy of the
    database signs nobody in. Deleting the row (sign-out, disabling the user, a new password) ends the session."""

    __tablename__ = "web_session"
    __table_args__ = (Index(None, "user_id"), Index(None, "expires_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class LoginAttempt(Base):
    """Every sign-in attempt, kept for throttling (too many failures lock the name for a while) and for audit."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index(None, "username", "at"), Index(None, "client_ip", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
