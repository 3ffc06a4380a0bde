"""JSON API of the registry's figures: ``GET /api/v1/registry/stats?grid=…`` — the same numbers as the page, for a
dashboard or another system. Counted within the caller's grids."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from civicgrid.http.bounds import GridFilter
from civicgrid.http.deps import CurrentActor, ReadSession
from civicgrid.http.routing import session_router
from civicgrid.registry import stats

router = session_router(prefix="/api/v1/registry", tags=["登记信息"])


@router.get(
    "/stats",
    summary="登记信息统计",
    description="本人管辖网格内：各下级网格及合计的数量，人员和单位按标签、人员按居住类型，单位最多的20栋楼宇，"
    "亩均税收最高的20家单位，地块按利用状态，以及总结句。",
)
def registry_stats(session: ReadSession, actor: CurrentActor, grid: GridFilter = None) -> dict[str, Any]:
    """Counts per lower grid and in total, people and enterprises by tag, people by residence, the 20 buildings
    with the most enterprises, the 20 best enterprises by tax per mu, parcels by status, and the report sentence."""
    view = stats.overview(session, actor, grid or None)
    code = view.grid.code
    return {
        "grid": asdict(view.grid),
        "rows": [{"grid": asdict(row.grid) if row.grid else None, "counts": row.counts} for row in view.rows],
        "total": view.total,
        "people_by_tag": dict(view.people_by_tag),
        "people_by_residence": dict(view.people_by_residence),
        "enterprises_by_tag": dict(view.enterprises_by_tag),
        "building_economy": [asdict(row) for row in stats.building_economy(session, actor, code, limit=20)],
        "tax_per_mu": asdict(stats.tax_per_mu(session, actor, code, limit=20)),
        "parcels_by_status": [asdict(row) for row in stats.parcels_by_status(session, actor, code)],
        "sentence": stats.summary_sentence(view),
    }
