"""The small district of the case tests, with a street's administrator (she launches campaigns)."""

from __future__ import annotations

from tests.cases.conftest import district, pinned_now, settings
from tests.registry.conftest import street_admin

__all__ = ["district", "pinned_now", "settings", "street_admin"]
