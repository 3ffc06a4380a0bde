"""Who is acting, and on what.

An ``Actor`` is built once per request (or CLI command) and handed to every service call. Its grid scope is a
set of grid codes; because a child's code extends its parent's, "X is in scope" is "X's code starts with one of
them" — one LIKE per root in SQL, one ``startswith`` in Python.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from civicgrid.errors import PermissionDeniedError
from civicgrid.org.roles import ROLE_PERMISSIONS, Permission, Role

ALL_GRIDS: tuple[str, ...] = ("",)  # the empty prefix: every code starts with it
_LABEL_USERNAME = re.compile(r"\((?P<username>[a-z0-9][a-z0-9_.@-]*)\)$")  # the end of ``Actor.label``


def minimal_roots(codes: Iterable[str]) -> tuple[str, ...]:
    """Drop codes already covered by a shorter code in the set; sorted for stable SQL."""
    roots: list[str] = []
    for code in sorted(set(codes), key=lambda value: (len(value), value)):
        if not any(code.startswith(root) for root in roots):
            roots.append(code)
    return tuple(sorted(roots))


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    display_name: str
    roles: frozenset[Role] = frozenset()
    grid_codes: tuple[str, ...] = ()
    department_ids: frozenset[int] = frozenset()
    permissions: frozenset[Permission] = field(default=frozenset())
    is_system: bool = False
    tracked_case: str | None = None  # the one case whose tracking code (查询码) this visitor showed

    @classmethod
    def for_user(
        cls,
        *,
        user_id: int,
        username: str,
        display_name: str,
        roles: Iterable[Role],
        grid_codes: Iterable[str],
        department_ids: Iterable[int],
    ) -> Actor:
        role_set = frozenset(roles)
        permissions = frozenset(p for role in role_set for p in ROLE_PERMISSIONS[role])
        return cls(
            user_id=user_id,
            username=username,
            display_name=display_name,
            roles=role_set,
            grid_codes=minimal_roots(grid_codes),
            department_ids=frozenset(department_ids),
            permissions=permissions,
        )

    @classmethod
    def system(cls, label: str | None = None) -> Actor:
        """The operator at the server's command line: full rights, recorded by OS user name in the audit log."""
        who = label or f"命令行:{_os_user()}"
        return cls(
            user_id=None,
            username=who,
            display_name=who,
            roles=frozenset({Role.ADMIN}),
            grid_codes=ALL_GRIDS,
            permissions=frozenset(Permission),
            is_system=True,
        )

    @classmethod
    def anonymous(cls, *, public_grid_map: bool) -> Actor:
        """A visitor who has not signed in: at most the public grid map."""
        return cls(
            user_id=None,
            username="anonymous",
            display_name="访客",
            grid_codes=ALL_GRIDS if public_grid_map else (),
            permissions=frozenset({Permission.GRID_READ}) if public_grid_map else frozenset(),
        )

    @classmethod
    def public_reporter(cls) -> Actor:
        """A visitor reporting a problem on the public pages (only while public reporting is open): may take in
        one report through the resident channel and nothing else, not even read it back (its tracking code does)."""
        return cls(
            user_id=None,
            username="public",
            display_name="群众（网上反映）",
            roles=frozenset({Role.RESIDENT}),  # the resident channel, and only it
            permissions=frozenset({Permission.CASE_INTAKE}),
        )

    @classmethod
    def tracking_holder(cls, number: str) -> Actor:
        """Whoever showed the right tracking code (查询码) of case ``number``: may read that one case and rate it.
        Build it only after the code was checked (civicgrid.cases.public.open_tracking)."""
        return cls(
            user_id=None,
            username=f"track:{number}",
            display_name="反映人（凭查询码）",
            permissions=frozenset({Permission.CASE_READ, Permission.CASE_RATE}),
            tracked_case=number,
        )

    @property
    def label(self) -> str:
        """Who acted, as the record keeps it: the name and, for a user, the user name (names repeat)."""
        if self.user_id is None:
            return self.display_name
        return f"{self.display_name}({self.username})"

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None or self.is_system

    def has(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission, doing: str) -> None:
        if not self.has(permission):
            raise PermissionDeniedError(
                f"{self.display_name}无权{doing}",
                detail={"permission": permission.value, "actor": self.username},
            )

    def covers_grid(self, code: str) -> bool:
        """The code is inside one of the actor's grid subtrees."""
        return any(code.startswith(root) for root in self.grid_codes)

    def sees_grid(self, code: str) -> bool:
        """Inside a subtree, or an ancestor of one (a grid worker sees the path up to her district)."""
        return self.covers_grid(code) or any(root.startswith(code) for root in self.grid_codes)

    def require_grid(self, code: str, doing: str, *, name: str | None = None) -> None:
        """Refuse a grid outside the actor's subtrees; the message names the grid (``name``) when the caller knows
        it, as its code means nothing to a person who did not type it."""
        if not self.covers_grid(code):
            raise PermissionDeniedError(
                f"{self.display_name}无权{doing}：网格“{name or code}”不在其管辖范围内",
                code="out_of_scope",
                detail={"grid_code": code, "actor": self.username},
            )


def name_in(label: str) -> str:
    """The person's name in a recorded ``Actor.label``, as pages show it: the user name stays in the record."""
    return _LABEL_USERNAME.sub("", label) or label


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
