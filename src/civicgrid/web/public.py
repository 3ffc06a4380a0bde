"""Placeholder router; filled in by its own change."""

from __future__ import annotations

from fastapi import APIRouter

from civicgrid.web.deps import CSRF_CHECKED

router = APIRouter(include_in_schema=False, dependencies=CSRF_CHECKED)
