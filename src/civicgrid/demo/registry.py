"""The demo street's registry at the scale of seed 004: for 109,863 residents, 117 housing estates, 73,441 houses,
1,689 enterprises, 706 land parcels and 5 rivers on 218 unit grids — and the facilities a 数字城管 survey counts.

Generated, deterministic (one seed), plausible rather than real: estates are small areas inside unit grids,
residential buildings stand in them with 2–4 entrances and 6–33 floors, two flats per landing; most flats are
lived in by a household of one to five (2.6 on average, as in seed 004's 61,271 households of 159,233 people);
people get ID numbers with valid GB 11643 check digits (Qingdao area codes for registered residents, other
provinces for the floating population), birth dates matching their age, mobiles, and the tags a street office
keeps (独居老人, 空巢老人, 低保, 残疾, 退役军人); enterprises get valid GB 32100 credit codes, a GB/T 4754
industry, and sit in office buildings (楼宇经济) or on their own land (亩均税收).

Written set-based (one INSERT per kind and batch, RETURNING the ids, the creation history in bulk), not through
the per-record services — 100,000 people take seconds, not minutes — with the same sealing, natural keys and
history rows the services write, so the pages, statistics and campaigns cannot tell them apart.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon, box
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc

from civicgrid import timesource
from civicgrid.cases.models import Placement
from civicgrid.code_prefix import code_starts_with
from civicgrid.demo import names
from civicgrid.demo.district import MAIN_STREET
from civicgrid.geo.metric import area_m2
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.index import grid_index
from civicgrid.grid.models import GridNode
from civicgrid.grid.service import node_geometry
from civicgrid.org.actor import Actor
from civicgrid.registry import people
from civicgrid.registry.bulk import Row, insert_records
from civicgrid.registry.kinds import KINDS, Kind, standard_address
from civicgrid.registry.models import Person, Residence
from civicgrid.registry.objects import SQUARE_METRES_PER_MU
from civicgrid.registry.protect import Protector

SEED_004_RESIDENTS = 109_863
PER_RESIDENT = {"estate": 117, "house": 73_441, "enterprise": 1_689, "parcel": 706}  # seed 004, per 109,863
QINGDAO_AREAS = ("370202", "370203", "370211", "370212", "370213", "370214", "370215", "370281", "370283")
OTHER_AREAS = ("371302", "371102", "370702", "410102", "230102", "340102", "320102", "220102", "130102", "370602")
HOUSEHOLD_SIZES = (1, 2, 3, 4, 5)
HOUSEHOLD_SHARES = (0.17, 0.32, 0.28, 0.15, 0.08)  # 2.65 people a household
INDUSTRY_SHARES = {"F": 0.24, "L": 0.12, "I": 0.09, "M": 0.08, "C": 0.1, "H": 0.09, "K": 0.04, "E": 0.05}
INDUSTRY_SHARES |= {"O": 0.07, "G": 0.05, "J": 0.03, "P": 0.02, "Q": 0.02}
FACILITIES_PER_UNIT = {"0102": 14, "0103": 10, "0107": 6, "0120": 18, "0125": 3, "0303": 8, "0305": 1, "0114": 3}
ESTATE_SUFFIXES = ("花园", "小区", "家园", "苑", "新村", "公寓", "雅居", "御府")
COMPANY_WORDS = {"F": "商贸", "L": "企业管理", "I": "信息技术", "M": "科技", "C": "机械制造", "H": "餐饮管理"}
COMPANY_WORDS |= {"K": "物业管理", "E": "建筑工程", "O": "家政服务", "G": "物流", "J": "投资", "P": "教育咨询"}
COMPANY_WORDS |= {"Q": "健康管理"}
BATCH = 5_000


@dataclass(frozen=True)
class RegistryOptions:
    residents: int = SEED_004_RESIDENTS  # about how many people; everything else scales with it
    seed: int = 20041231
    grid_code: str = MAIN_STREET


@dataclass
class RegistrySummary:
    counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        labels = {"person": "人", "household": "户"} | {key: kind.label for key, kind in KINDS.items()}
        return "，".join(f"{labels[key]}{number}" for key, number in self.counts.items())


@dataclass(frozen=True)
class Unit:
    code: str
    node_id: int
    polygon: Polygon
    road: str


def generate_registry(
    session: Session,
    protector: Protector,
    options: RegistryOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> RegistrySummary:
    """Fill the registry of ``options.grid_code``'s unit grids (which must exist: build the demo district first)."""
    options = options or RegistryOptions()
    say = progress or (lambda _: None)
    builder = _Builder(session, protector, options)
    say("小区与楼宇…")
    builder.estates_and_buildings()
    builder.standard_addresses()
    say("房屋、住户与人口…")
    builder.houses_and_people()
    say("单位/企业、地块、河道、部件…")
    builder.enterprises()
    builder.parcels()
    builder.rivers()
    builder.facilities()
    return builder.summary


class _Builder:
    def __init__(self, session: Session, protector: Protector, options: RegistryOptions) -> None:
        self.session, self.protector, self.options = session, protector, options
        self.rng = np.random.default_rng(options.seed)
        self.actor = Actor.system("演示数据生成")
        self.now = timesource.now()
        self.scale = options.residents / SEED_004_RESIDENTS
        self.units = self._units()
        self.names = names.person_names(self.rng)
        self.stems = names.settlement_names(np.random.default_rng(options.seed + 1))
        self.unit_by_code = {unit.code: unit for unit in self.units}
        self.summary = RegistrySummary()
        self.estates: list[dict[str, Any]] = []
        self.homes: list[dict[str, Any]] = []  # residential buildings
        self.offices: list[dict[str, Any]] = []
        self.used_ids: set[str] = set()

    # --- kinds ----------------------------------------------------------------------------------------------

    def estates_and_buildings(self) -> None:
        rows = []
        for number in range(max(1, round(PER_RESIDENT["estate"] * self.scale))):
            # the first estate in the first unit grid: the demo's grid worker (gridworker) works there
            unit = self.units[0] if number == 0 else self._unit()
            centre = self._point_in(unit.polygon)
            area = _patch(unit.polygon, centre, self.rng.uniform(0.0012, 0.003))
            built = int(self.rng.integers(1982, 2021))
            tags = ["老旧小区"] if built < 2000 else []
            if built < 2000 and self.rng.random() < 0.3:
                tags.append("无物业小区")
            name = f"{next(self.stems)}{ESTATE_SUFFIXES[number % len(ESTATE_SUFFIXES)]}"
            rows.append(
                self._placed(unit, area, name=name, address=f"{unit.road}{number + 1}号", tags=tags, built_year=built)
                | {"property_company": None if "无物业小区" in tags else f"青岛{next(self.stems)}物业服务有限公司"}
            )
        self.estates = self._insert("estate", rows)
        self._residential_buildings()
        self._office_buildings()

    def standard_addresses(self) -> None:
        """标准地址: one door plate per building — the estate's road and number with its 楼栋, an office building's
        road and number."""
        rows, seen = [], set()
        for building in [*self.homes, *self.offices]:
            found = re.fullmatch(r"(.+?)(\d+)号(?:(\d+)号楼)?", building["address"] or "")
            if found is None:
                continue
            parts = {"road": found[1], "door_no": f"{found[2]}号", "entrance": None, "room": None}
            parts["building"] = f"{found[3]}号楼" if found[3] else None
            key = KINDS["address"].natural_key(parts)
            if key in seen:
                continue
            seen.add(key)
            name = standard_address(parts)
            point = shapely.Point(building["lon"], building["lat"])
            rows.append(self._placed(self._unit_of(building), point, name=name, address=name, **parts))
        self._insert("address", rows)

    def houses_and_people(self) -> None:
        houses = [flat for building in self.homes for flat in self._flats(building)]
        self._occupy(houses)
        inserted = self._insert("house", houses)
        people = []
        for house in inserted:
            if house["occupancy"] in ("自住", "出租"):
                people.extend(self._household(house))
        self._insert_people(people)

    def enterprises(self) -> None:
        industries, shares = zip(*INDUSTRY_SHARES.items(), strict=True)
        weights = np.array(shares) / sum(shares)
        rows = []
        for number in range(round(PER_RESIDENT["enterprise"] * self.scale)):
            industry = str(self.rng.choice(industries, p=weights))
            rows.append(self._enterprise(number, industry))
        self._insert("enterprise", rows)

    def parcels(self) -> None:
        uses = ("工业", "商业", "住宅", "公共服务", "其他")
        statuses, shares = ("在用", "闲置", "低效", "盘活", "在建", "储备"), (0.6, 0.1, 0.12, 0.08, 0.06, 0.04)
        rows = []
        for number in range(round(PER_RESIDENT["parcel"] * self.scale)):
            unit = self._unit()
            shape = _patch(unit.polygon, self._point_in(unit.polygon), self.rng.uniform(0.0006, 0.0025))
            values: dict[str, Any] = {
                "name": f"{unit.road}{number + 1}号地块",
                "parcel_no": f"HC-{2015 + number % 11}-{number + 1:04d}",
            }
            values |= {"use": uses[number % len(uses)], "status": str(self.rng.choice(statuses, p=shares))}
            values["area_mu"] = round(area_m2(shape) / SQUARE_METRES_PER_MU, 2)
            rows.append(self._placed(unit, shape, **values))
        self._insert("parcel", rows)

    def rivers(self) -> None:
        street = shapely.union_all([unit.polygon for unit in self.units])
        west, south, east, north = street.bounds
        inside = street.buffer(-0.0005)  # ~50 m in from the edge: the street's river, not the district's
        chiefs = ("街道党工委书记", "街道办事处主任", "街道党工委副书记", "街道办事处副主任", "社区党委书记")
        rows = []
        for number in range(5):
            y = south + (north - south) * (number + 0.5) / 5
            xs = np.linspace(west, east, 12)
            ys = y + np.cumsum(self.rng.normal(0, (north - south) / 60, 12))
            clipped = LineString(np.column_stack([xs, ys])).intersection(inside)
            line = max(getattr(clipped, "geoms", [clipped]), key=lambda part: part.length)
            found = grid_index(self.session).place_shape_wgs84(line)
            assert found.node is not None
            unit = Unit(found.node.code, found.node.id, Polygon(), "")
            length = _metres(line) / 1000
            values: dict[str, Any] = {"name": f"{next(self.stems)}河", "level": "区级" if number < 2 else "街道级"}
            values |= {"length_km": round(length, 3), "chief_name": next(self.names), "chief_title": chiefs[number]}
            rows.append(self._placed(unit, line, **values) | {"lon": found.lon, "lat": found.lat})
        self._insert("river", rows)

    def facilities(self) -> None:
        labels = dict(KINDS["facility"].field("class_code").choices)
        serials: dict[str, Iterator[int]] = {}
        rows = []
        for unit in self.units:
            for class_code, per_unit in FACILITIES_PER_UNIT.items():
                for _ in range(self.rng.poisson(per_unit * max(self.scale, 0.02))):
                    serial = next(serials.setdefault(class_code, count(1)))
                    values: dict[str, Any] = {"name": labels[class_code], "class_code": class_code}
                    values |= {"code": f"{unit.code[:6]}{class_code}{serial:06d}", "condition": "完好"}
                    if self.rng.random() < 0.04:
                        values["condition"] = "破损"
                    rows.append(self._placed(unit, self._point_in(unit.polygon), **values))
        self._insert("facility", rows)

    # --- pieces ---------------------------------------------------------------------------------------------

    def _residential_buildings(self) -> None:
        rows = []
        flats_per_building = 90  # 2–4 entrances of 6–33 floors, two flats a landing, on average
        per_estate = max(1, round(PER_RESIDENT["house"] * self.scale / max(len(self.estates), 1) / flats_per_building))
        for estate in self.estates:
            shape = shapely.from_wkb(estate["geometry"])
            unit = self._unit_of(estate)
            old = estate["built_year"] < 2000
            for number in range(1, int(self.rng.integers(max(1, per_estate // 2), per_estate * 3 // 2 + 1)) + 1):
                floors = 6 if old else int(self.rng.choice((11, 18, 26, 33)))
                building: dict[str, Any] = {
                    "name": f"{estate['name']}{number}号楼",
                    "address": f"{estate['address']}{number}号楼",
                }
                building |= {"estate_id": estate["id"], "use": "住宅楼", "floors": floors}
                rows.append(self._placed(unit, self._point_in(shape), **building))
        self.homes = self._insert("building", rows)

    def _office_buildings(self) -> None:
        rows = []
        for number in range(max(2, round(40 * self.scale))):
            unit = self._unit()
            name = f"{next(self.stems)}{('大厦', '国际中心', '金融中心', '科技园')[number % 4]}"
            values: dict[str, Any] = {"name": name, "address": f"{unit.road}{100 + number}号", "use": "商务楼宇"}
            values |= {"floors": int(self.rng.integers(12, 42)), "tags": ["商务楼宇"]}
            rows.append(self._placed(unit, self._point_in(unit.polygon), **values))
        self.offices = self._insert("building", rows)

    def _flats(self, building: dict[str, Any]) -> list[dict[str, Any]]:
        unit = self._unit_of(building)
        entrances = int(self.rng.integers(2, 5))
        flats = []
        for entrance, floor, door in (
            (e, f, d) for e in range(1, entrances + 1) for f in range(1, building["floors"] + 1) for d in (1, 2)
        ):
            room = f"{entrance}单元{floor}{door:02d}"
            values: dict[str, Any] = {"name": f"{building['name']}{room}", "address": building["address"], "room": room}
            values |= {"building_id": building["id"], "use": "住宅"}
            area = round(float(np.clip(self.rng.normal(90, 25), 38, 220)), 1)
            values |= {"area_m2": area, "owner_name": next(self.names)}
            flats.append(self._placed(unit, shapely.Point(building["lon"], building["lat"]), **values))
        return flats

    def _occupy(self, houses: list[Row]) -> None:
        """Lived in (自住 or 出租) so that the people come to about ``options.residents``; the rest stand empty."""
        mean_size = float(np.dot(HOUSEHOLD_SIZES, HOUSEHOLD_SHARES))
        lived_in = min(0.95, self.options.residents / mean_size / max(len(houses), 1))
        shares = (lived_in * 0.8, lived_in * 0.2, 1 - lived_in)
        for house, occupancy in zip(
            houses, self.rng.choice(("自住", "出租", "空置"), len(houses), p=shares), strict=True
        ):
            house["occupancy"] = str(occupancy)
            house["tags"] = ["出租房屋"] if occupancy == "出租" else []

    def _household(self, house: dict[str, Any]) -> list[dict[str, Any]]:
        size = int(self.rng.choice(HOUSEHOLD_SIZES, p=HOUSEHOLD_SHARES))
        rented = house["occupancy"] == "出租"
        head_age = int(self.rng.integers(24, 60)) if rented else int(self.rng.integers(28, 92))
        ages = [head_age]
        if size >= 2:
            ages.append(max(20, head_age + int(self.rng.integers(-5, 6))))
        ages += [max(0, head_age - int(self.rng.integers(24, 36))) for _ in range(size - len(ages))]
        household_no = f"{house['scope_code'][-6:]}-{house['id']:06d}"
        poor = self.rng.random() < 0.012
        people = []
        for position, age in enumerate(ages):
            male = bool(position % 2 == 0) if self.rng.random() < 0.9 else bool(self.rng.random() < 0.5)
            residence = self._residence(rented)
            tags = _person_tags(age, male, size, ages, poor, self.rng)
            person: dict[str, Any] = {
                "name": next(self.names),
                "residence": residence.value,
                "household_no": household_no,
            }
            person |= {"house_id": house["id"], "address": f"{house['address']}{house['room']}", "tags": tags}
            person |= {"lon": house["lon"], "lat": house["lat"], "placement": house["placement"]}
            person |= {"grid_node_id": house["grid_node_id"], "scope_code": house["scope_code"]}
            people.append(person | self._identity(age, male, residence))
        return people

    def _residence(self, rented: bool) -> Residence:
        draw = self.rng.random()
        if rented:
            return Residence.FLOATING if draw < 0.7 else Residence.RESIDENT
        return Residence.HOUSEHOLD if draw < 0.82 else Residence.RESIDENT

    def _identity(self, age: int, male: bool, residence: Residence) -> dict[str, Any]:
        areas = OTHER_AREAS if residence is Residence.FLOATING else QINGDAO_AREAS
        born = self.now.date() - dt.timedelta(days=age * 365 + int(self.rng.integers(0, 365)))
        while True:
            sequence = int(self.rng.integers(0, 500)) * 2 + (1 if male else 0)
            body = f"{areas[int(self.rng.integers(len(areas)))]}{born:%Y%m%d}{sequence:03d}"
            number = body + ric.calc_check_digit(body + "0")  # stdnum expects a place for the check digit
            if number not in self.used_ids:
                self.used_ids.add(number)
                break
        seal, index = self.protector.seal, self.protector.blind_index
        identity: dict[str, Any] = {"birth_date": born, "male": male}
        identity |= {"id_number_sealed": seal(number, "person.id_number")}
        identity |= {"id_number_index": index(number, "person.id_number")}
        if age >= 16 and self.rng.random() < 0.92:
            phone = f"1{self.rng.choice(('38', '39', '58', '59', '86', '87', '88', '35', '36', '37'))}"
            phone += f"{int(self.rng.integers(0, 100_000_000)):08d}"
            identity |= {"phone_sealed": seal(phone, "person.phone"), "phone_index": index(phone, "person.phone")}
        return identity

    def _enterprise(self, number: int, industry: str) -> dict[str, Any]:
        in_office = industry not in ("C", "E", "G") and self.offices and self.rng.random() < 0.62
        building = self.offices[int(self.rng.integers(len(self.offices)))] if in_office else None
        unit = self._unit_of(building) if building else self._unit()
        point = shapely.Point(building["lon"], building["lat"]) if building else self._point_in(unit.polygon)
        big = self.rng.random() < 0.12
        employees = int(self.rng.lognormal(5.0 if big else 2.4, 0.6))
        tax = round(float(self.rng.lognormal(6.3 if big else 2.6, 0.9)), 1)
        land = round(float(self.rng.uniform(5, 80)), 1) if industry in ("C", "G") else None
        established = dt.date(int(self.rng.integers(1995, self.now.year + 1)), int(self.rng.integers(1, 13)), 1)
        tags = ["规上"] if big else []
        if industry in ("I", "M", "C") and self.rng.random() < 0.12:
            tags.append("高企培育")
        if industry == "C" and self.rng.random() < 0.35:
            tags.append("安全生产重点")
        if industry == "H" and self.rng.random() < 0.2:
            tags.append("消防重点单位")
        values: dict[str, Any] = {
            "name": f"青岛{next(self.stems)}{COMPANY_WORDS.get(industry, '实业')}有限公司",
            "tags": sorted(tags),
        }
        values |= {"credit_code": _credit_code(number), "kind": "企业", "industry": industry}
        values |= {"scale": "规上" if big else "规下", "employees": employees, "annual_tax": tax, "land_mu": land}
        values |= {"established_on": min(established, self.now.date())}
        values |= {"building_id": building["id"] if building else None}
        address = building["address"] if building else f"{unit.road}{200 + number}号"
        return self._placed(unit, point, address=address, **values)

    # --- placing and writing --------------------------------------------------------------------------------

    def _units(self) -> list[Unit]:
        stmt = select(GridNode).where(
            code_starts_with(GridNode.code, self.options.grid_code), GridNode.level == GridLevel.UNIT.value
        )
        found: list[Unit] = []
        for node in self.session.scalars(stmt.order_by(GridNode.code)):
            polygon = node_geometry(node)
            if isinstance(polygon, Polygon):
                road = f"{node.name[:2]}{('路', '街', '大道', '巷')[len(found) % 4]}"
                found.append(Unit(node.code, node.id, polygon, road))
        if not found:
            raise LookupError(f"网格“{self.options.grid_code}”下没有带边界的网格单元，请先生成演示辖区")
        return found

    def _unit(self) -> Unit:
        return self.units[int(self.rng.integers(len(self.units)))]

    def _unit_of(self, record: dict[str, Any]) -> Unit:
        return self.unit_by_code[record["scope_code"]]

    def _point_in(self, polygon: BaseGeometry) -> shapely.Point:
        west, south, east, north = polygon.bounds
        while True:
            point = shapely.Point(self.rng.uniform(west, east), self.rng.uniform(south, north))
            if polygon.contains(point):
                return point

    def _placed(self, unit: Unit, shape: BaseGeometry, **values: Any) -> dict[str, Any]:
        anchor = shape if shape.geom_type == "Point" else shape.representative_point()
        row = {"lon": float(anchor.x), "lat": float(anchor.y), "placement": Placement.LOCATED.value}
        row |= {"grid_node_id": unit.node_id, "scope_code": unit.code, "tags": values.pop("tags", [])}
        row["geometry"] = None if shape.geom_type == "Point" else shapely.to_wkb(shape, output_dimension=2)
        return row | values

    def _insert(self, kind_key: str, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        kind = KINDS[kind_key]
        for row in rows:
            row.setdefault("address", None)
        _unique_keys(kind, rows)
        inserted = self._write(kind.model, rows, kind_key, lambda row: _tracked(kind, row))
        self.summary.counts[kind_key] = self.summary.counts.get(kind_key, 0) + len(inserted)
        return inserted

    def _insert_people(self, rows: list[dict[str, Any]]) -> None:
        inserted = self._write(Person, rows, "person", people.tracked_values)
        self.summary.counts["person"] = len(inserted)
        self.summary.counts["household"] = len({row["household_no"] for row in inserted})

    def _write(self, model: Any, rows: Sequence[Row], object_type: str, tracked: Callable[[Row], Row]) -> list[Row]:
        insert_records(self.session, self.actor, model, object_type, rows, tracked, self.now)
        return list(rows)


def _unique_keys(kind: Kind, rows: Sequence[dict[str, Any]]) -> None:
    """Generated names and addresses can meet (two 泰和花园); natural keys must not — a repeat's address gets 之2."""
    seen: set[str] = set()
    for row in rows:
        base, repeat = row.get("address"), 1
        row["natural_key"] = kind.natural_key(row)
        while row["natural_key"] is not None and row["natural_key"] in seen:
            repeat += 1
            row["address"] = f"{base}之{repeat}"
            row["natural_key"] = kind.natural_key(row)
        if row["natural_key"] is not None:
            seen.add(row["natural_key"])


def _tracked(kind: Kind, row: dict[str, Any]) -> dict[str, Any]:
    """What ``objects.tracked`` records for a new record, from the row (blank values left out, as ``diff`` does)."""
    names = [f.name for f in kind.all_fields] + ["lon", "lat", "placement", "scope_code"]
    values: dict[str, Any] = {name: _json(row.get(name)) for name in names}
    values["geometry"] = (
        shapely.to_wkt(shapely.from_wkb(row["geometry"]), rounding_precision=7) if row.get("geometry") else None
    )
    return values


def _person_tags(age: int, male: bool, size: int, ages: list[int], poor: bool, rng: np.random.Generator) -> list[str]:
    tags = []
    if age >= 70 and size == 1:
        tags.append("独居老人")
    if age >= 60 and size == 2 and min(ages) >= 60:
        tags.append("空巢老人")
    if poor:
        tags.append("低保")
    if rng.random() < 0.02:
        tags.append("残疾")
    if male and 22 <= age <= 75 and rng.random() < 0.04:
        tags.append("退役军人")
    return tags


def _credit_code(number: int) -> str:
    """A valid 统一社会信用代码: 9 (工商) 1 (企业), the district, an organisation code with its own GB 11714 check
    character, and the GB 32100 check character."""
    body = f"MA{number:06d}"[:8]
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    value = sum(weight * int(char, 36) for weight, char in zip(weights, body, strict=True))
    check = 11 - value % 11
    organisation = body + ("X" if check == 10 else "0" if check == 11 else str(check))
    partial = f"91370299{organisation}"
    return partial + uscc.calc_check_digit(partial)


def _patch(unit: Polygon, centre: shapely.Point, size: float) -> Polygon:
    """A small area around ``centre`` inside the unit grid."""
    patch = box(centre.x - size, centre.y - size * 0.8, centre.x + size, centre.y + size * 0.8).intersection(unit)
    if isinstance(patch, Polygon) and not patch.is_empty:
        return patch
    return box(centre.x - 1e-4, centre.y - 1e-4, centre.x + 1e-4, centre.y + 1e-4).intersection(unit)


def _metres(line: BaseGeometry) -> float:
    from civicgrid.geo.metric import LocalProjection

    return float(LocalProjection.around(line).to_metric(line).length)


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value
