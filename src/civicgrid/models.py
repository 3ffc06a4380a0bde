"""Imports every table module so that the metadata (for Alembic and mappers) is complete."""

from civicgrid import audit, counters
from civicgrid.db import Base
from civicgrid.grid import models as grid_models
from civicgrid.org import models as org_models

metadata = Base.metadata

__all__ = ["audit", "counters", "grid_models", "metadata", "org_models"]
