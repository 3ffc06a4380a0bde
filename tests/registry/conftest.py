"""The small district of the case tests (one street, two communities, two unit grids, one person per role)."""

from tests.cases.conftest import district, pinned_now, settings

__all__ = ["district", "pinned_now", "settings"]
