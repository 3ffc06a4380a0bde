"""The taxonomy a street office starts with (大类/小类, default department, priority, handling limit).

Department codes are those of the demo district; a category whose department does not exist routes to the
command centre (兜底). Limits follow common 数字城管 practice: a few working hours for exposed rubbish or a missing
manhole cover, days for repairs, fifteen working days for illegal construction.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from civicgrid.cases.taxonomy import CategorySpec, ensure_builtin_types, upsert_categories
from civicgrid.importing import ImportReport
from civicgrid.org.actor import Actor

# (大类, 小类, department, priority, handle limit, case type, grid worker may self-handle)
_ROWS: tuple[tuple[str, str, str | None, int, str, str, bool], ...] = (
    ("市容环境", "暴露垃圾", "HC-CG", 3, "4小时", "city_management", True),
    ("市容环境", "积存垃圾渣土", "HC-CG", 3, "1工作日", "city_management", False),
    ("市容环境", "乱堆物堆料", "HC-CG", 3, "1工作日", "city_management", True),
    ("市容环境", "占道经营", "CGJ", 3, "4小时", "city_management", False),
    ("市容环境", "店外经营", "HC-CG", 4, "4小时", "city_management", True),
    ("市容环境", "非法小广告", "HC-CG", 4, "1工作日", "city_management", True),
    ("市容环境", "道路不洁", "HC-CG", 3, "4小时", "city_management", False),
    ("市容环境", "露天烧烤", "CGJ", 2, "2小时", "city_management", False),
    ("设施管理", "井盖缺失破损", "ZJJ", 1, "2小时", "city_management", False),
    ("设施管理", "路灯不亮", "GD-HC", 3, "2工作日", "city_management", False),
    ("设施管理", "道路破损", "ZJJ", 3, "3工作日", "city_management", False),
    ("设施管理", "垃圾桶破损", "HC-CG", 4, "1工作日", "city_management", False),
    ("设施管理", "智能回收箱故障", "HC-CG", 4, "2工作日", "city_management", False),
    ("违法建设", "违法搭建", "CGJ-ZF", 2, "15工作日", "city_management", False),
    ("违法建设", "擅自改变房屋承重结构", "ZJJ", 2, "5工作日", "city_management", False),
    ("生态环境", "黑臭水体", "STHJ", 2, "5工作日", "ecology", False),
    ("生态环境", "污水直排", "STHJ", 2, "3工作日", "ecology", False),
    ("生态环境", "扬尘污染", "STHJ", 3, "1工作日", "ecology", False),
    ("生态环境", "噪声扰民", "GA-HC", 3, "1工作日", "ecology", False),
    ("生态环境", "餐饮油烟", "STHJ", 4, "3工作日", "ecology", False),
    ("安全生产", "消防通道堵塞", "YJGL", 2, "4小时", "safety_hazard", False),
    ("安全生产", "燃气安全隐患", "YJGL", 1, "2小时", "safety_hazard", False),
    ("安全生产", "企业安全隐患", "HC-AJ", 2, "3工作日", "safety_hazard", False),
    ("市场监管", "食品安全", "SCJG", 2, "3工作日", "hotline", False),
    ("市场监管", "无照经营", "SCJG", 3, "5工作日", "hotline", False),
    ("市场监管", "价格欺诈", "SCJG", 3, "5工作日", "hotline", False),
    ("物业住房", "物业服务", "ZJJ", 3, "5工作日", "hotline", False),
    ("物业住房", "小区公共设施维修", "ZJJ", 3, "5工作日", "hotline", False),
    ("矛盾纠纷", "邻里纠纷", "HC-SW", 3, "5工作日", "dispute", False),
    ("矛盾纠纷", "家庭纠纷", "HC-SW", 3, "5工作日", "dispute", False),
    ("矛盾纠纷", "劳资纠纷", "HC-JJ", 2, "5工作日", "dispute", False),
    ("民生服务", "养老服务", "MZJ", 3, "5工作日", "hotline", False),
    ("民生服务", "停水停电", "GD-HC", 2, "1工作日", "hotline", False),
    ("民生服务", "政策咨询", "HC-SW", 4, "3工作日", "hotline", False),
    ("交通出行", "乱停乱放", "GA-HC", 3, "4小时", "city_management", False),
    ("交通出行", "公交线路站点", "JTYS", 4, "10工作日", "hotline", False),
    ("其他", "其他事项", None, 4, "5工作日", "hotline", False),
)


def default_specs() -> list[tuple[int, CategorySpec]]:
    return [
        (
            number,
            CategorySpec(
                path=(top, leaf),
                default_department_code=department,
                priority=priority,
                limits={"handle": limit},
                case_type_code=case_type,
                self_handle_allowed=self_handle,
            ),
        )
        for number, (top, leaf, department, priority, limit, case_type, self_handle) in enumerate(_ROWS, start=1)
    ]


def install_defaults(session: Session, actor: Actor) -> ImportReport:
    """Built-in case types plus the default taxonomy; safe to run again (existing categories keep their codes)."""
    ensure_builtin_types(session)
    report = ImportReport(source="默认类别", total=len(_ROWS))
    upsert_categories(session, actor, default_specs(), report, overwrite=False)
    report.applied = True
    return report
