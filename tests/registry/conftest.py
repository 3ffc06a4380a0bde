"""The small district of the case tests (one street, two communities, two unit grids, one person per role), and a
street's registry administrator."""

from __future__ import annotations

import pytest
from tests.cases.conftest import STREET, District, district, pinned_now, settings

from civicgrid.org.actor import Actor
from civicgrid.org.roles import Role
from civicgrid.org.service import actor_for, create_user

__all__ = ["district", "pinned_now", "settings", "street_admin"]


@pytest.fixture
def street_admin(district: District) -> Actor:
    user = create_user(
        district.session,
        district.system,
        username="street-admin",
        display_name="街道管理员",
        roles=[Role.ADMIN],
        password=None,
        grid_codes=[STREET],
    )
    return actor_for(district.session, user)
