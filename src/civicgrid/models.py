"""Imports every table module so that the metadata (for Alembic and mappers) is complete."""

from civicgrid import audit, counters
from civicgrid.campaigns import models as campaign_models
from civicgrid.cases import models as case_models
from civicgrid.db import Base
from civicgrid.grid import models as grid_models
from civicgrid.kpi import models as kpi_models
from civicgrid.notify import models as notify_models
from civicgrid.org import models as org_models
from civicgrid.registry import models as registry_models
from civicgrid.worktime import models as worktime_models

metadata = Base.metadata

__all__ = [
    "audit",
    "campaign_models",
    "case_models",
    "counters",
    "grid_models",
    "kpi_models",
    "metadata",
    "notify_models",
    "org_models",
    "registry_models",
    "worktime_models",
]
