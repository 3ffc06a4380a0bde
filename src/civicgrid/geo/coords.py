"""Coordinate reference systems of Chinese web maps, and exact conversions between them.

civicgrid stores every geometry in WGS-84 longitude/latitude and converts only at the edge (imports, exports and
the tiles of a Chinese map provider). Three systems are in use:

* **WGS-84** — GPS receivers, 天地图 (CGCS2000, which agrees with WGS-84 to a few centimetres), OpenStreetMap.
* **GCJ-02** — the state-mandated shift used by 高德 (AutoNavi) and 腾讯: WGS-84 plus a smooth, deliberately
  irregular offset of a few hundred metres computed on the Krasovsky ellipsoid. It applies only inside China.
* **BD-09** — 百度's further shift of GCJ-02 (a small rotation and scaling about the origin plus a constant).

Decisions taken here:

* **One criterion.** The shifts apply exactly when the underlying WGS-84 point is inside China
  (:func:`in_china`); everywhere else all conversions are the identity. BD-09 is therefore also the identity
  outside China (Baidu serves plain WGS-84 abroad). Deciding on the WGS-84 point, rather than on whatever point
  a conversion happens to receive, makes every pair of conversions an exact inverse of each other, and makes
  WGS-84 → GCJ-02 → BD-09 equal to WGS-84 → BD-09 everywhere.
* **Exact inverses.** GCJ-02 → WGS-84 and BD-09 → GCJ-02 are solved by fixed-point iteration to better than
  1e-9 degree (about 0.1 mm), not by the usual one-step approximation, which is off by up to a couple of metres
  (GCJ-02) or about a metre (BD-09). Results therefore differ slightly from most published "inverse" functions;
  the forward conversions agree with them to floating-point precision.
* **Ambiguity at the border.** A point just outside China and its shifted image can both be in the region that
  :func:`in_china` approximates; converting *back* then prefers the shifted reading. This only concerns points
  within about one kilometre of the approximated border.

All functions accept Python floats (and return a tuple of floats) or numpy arrays (and return a tuple of float64
arrays of the broadcast shape); they are vectorised and contain no per-point Python loop.
"""

from __future__ import annotations

import math
import numbers
import unicodedata
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any, Final, TypeVar, overload

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from civicgrid.errors import InvalidInputError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
# What the array overloads accept: numpy arrays of any numeric dtype, or plain sequences of numbers.
ArrayInput = npt.NDArray[Any] | Sequence[float]
G = TypeVar("G", bound=BaseGeometry)

__all__ = [
    "CRS",
    "CRS_LABELS",
    "ArrayInput",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "convert",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "parse_crs",
    "to_wgs84",
    "transform_geometry",
    "validate_lonlat",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]


class CRS(StrEnum):
    """The three longitude/latitude systems civicgrid reads and writes."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


CRS_LABELS: dict[CRS, str] = {
    CRS.WGS84: "WGS-84（GPS/天地图/OSM）",
    CRS.GCJ02: "GCJ-02（高德/腾讯）",
    CRS.BD09: "BD-09（百度）",
}

_ACCEPTED_HINT: Final = "wgs84（GPS/天地图/OSM）、gcj02（高德/腾讯）或 bd09（百度）"

# Aliases after normalisation (NFKC, case-folded, spaces/hyphens/underscores removed; see _normalise_crs_name).
_CRS_ALIASES: Final[dict[str, CRS]] = {
    **dict.fromkeys(
        [
            "wgs84",
            "wgs",
            "gps",
            "epsg:4326",
            "epsg4326",
            "4326",
            "crs84",
            "ogc:crs84",
            "urn:ogc:def:crs:ogc:1.3:crs84",
            "urn:ogc:def:crs:ogc::crs84",
            "urn:ogc:def:crs:epsg::4326",
            "urn:ogc:def:crs:epsg:6.6:4326",
            "http://www.opengis.net/def/crs/ogc/1.3/crs84",
            "http://www.opengis.net/def/crs/epsg/0/4326",
            # Geographic CGCS2000 (天地图) agrees with WGS-84 to a few centimetres.
            "cgcs2000",
            "epsg:4490",
            "epsg4490",
            "4490",
            "天地图",
            "tianditu",
            "osm",
            "openstreetmap",
        ],
        CRS.WGS84,
    ),
    **dict.fromkeys(
        [
            "gcj02",
            "gcj",
            "gcj2",
            "amap",
            "autonavi",
            "gaode",
            "高德",
            "tencent",
            "qq",
            "腾讯",
            "mars",
            "火星",
            "火星坐标",
            "火星坐标系",
            "国测局",
            "国测局坐标",
        ],
        CRS.GCJ02,
    ),
    **dict.fromkeys(["bd09", "bd", "bd09ll", "baidu", "百度", "百度坐标", "百度坐标系"], CRS.BD09),
}

# Names of projected systems in metres that people often mistake for longitude/latitude.
_PROJECTED_NAMES: Final[frozenset[str]] = frozenset(
    [
        "epsg:3857",
        "epsg3857",
        "3857",
        "epsg:900913",
        "900913",
        "epsg:3395",
        "3395",
        "urn:ogc:def:crs:epsg::3857",
        "http://www.opengis.net/def/crs/epsg/0/3857",
        "webmercator",
        "mercator",
        "pseudomercator",
        "墨卡托",
        "bd09mc",
        "百度墨卡托",
        "gcj02mc",
    ]
)


def _normalise_crs_name(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).strip().casefold()
    return "".join(ch for ch in text if ch not in " -_\t")


def _is_projected_name(name: str) -> bool:
    if name in _PROJECTED_NAMES:
        return True
    # CGCS2000 Gauss-Krüger zones (3-degree and 6-degree): EPSG 4491-4554.
    code = name.removeprefix("epsg:").removeprefix("epsg").removeprefix("urn:ogc:def:crs:epsg::")
    if code.isdigit() and 4491 <= int(code) <= 4554:
        return True
    return "gauss" in name or "高斯" in name or "utm" in name


def parse_crs(value: str | None) -> CRS:
    """The CRS named by ``value`` (case-insensitive; common aliases and EPSG/OGC names are accepted).

    Raises :class:`InvalidInputError` with code ``missing_crs`` when nothing is declared and ``unknown_crs``
    when the name is not one of the three supported longitude/latitude systems.
    """
    if value is None or not value.strip():
        raise InvalidInputError(
            f"未声明坐标系。请注明坐标所用的坐标系：{_ACCEPTED_HINT}，即 wgs84|gcj02|bd09 之一。",
            code="missing_crs",
            detail={"accepted": [crs.value for crs in CRS]},
        )
    name = _normalise_crs_name(value)
    found = _CRS_ALIASES.get(name)
    if found is not None:
        return found
    projected = _is_projected_name(name)
    if projected:
        message = (
            f"不支持坐标系“{value.strip()}”：它是以米为单位的投影坐标系，不是经纬度。"
            f"请先把数据转换为经纬度，再声明为 {_ACCEPTED_HINT}。"
        )
    else:
        message = f"无法识别坐标系“{value.strip()}”。可接受的坐标系为 {_ACCEPTED_HINT}。"
    raise InvalidInputError(
        message,
        code="unknown_crs",
        detail={"value": value, "accepted": [crs.value for crs in CRS], "projected": projected},
    )


# ---------------------------------------------------------------------------------------------------------------
# Where the shift applies.
#
# Mainland China (with Hainan and the Paracel Islands; Hong Kong and Macau included, Taiwan excluded) approximated
# by a staircase of longitude strips, each with the latitude range that is Chinese in that strip. Borders are
# followed to roughly a quarter of a degree; the steps were drawn from border landmarks (noted on each row) so that
# neighbouring capitals and the cities across short borders fall outside: Seoul, Pyongyang, Hanoi, Vientiane,
# Taipei, Ulaanbaatar, Vladivostok, Kathmandu, Thimphu, Almaty, Bishkek. Twin towns on a border river (丹东/新义州,
# 黑河/布拉戈维申斯克, 河口/老街, 东兴/芒街) cannot be told apart at this resolution.
# Columns: west, east, south, north (degrees).
# ---------------------------------------------------------------------------------------------------------------
_CHINA_STRIPS: Final[tuple[tuple[float, float, float, float], ...]] = (
    # Xinjiang west of the Pamirs and the Tian Shan, Aksai Chin, Ngari
    (73.5, 75.0, 38.9, 40.0),  # 乌恰 / Irkeshtam; Tajikistan south, Kyrgyzstan north
    (75.0, 75.5, 37.0, 40.5),  # 塔什库尔干; Wakhan corridor south
    (75.5, 76.5, 36.6, 40.5),  # Khunjerab, Torugart
    (76.5, 77.8, 35.6, 41.0),  # K2 south
    (77.8, 79.0, 34.5, 41.8),  # Aksai Chin; Ladakh south
    (79.0, 80.2, 31.3, 41.8),  # 狮泉河, 札达; Kyrgyzstan north
    (80.2, 81.5, 30.4, 45.1),  # 伊宁, 霍尔果斯; Kumaon and Nepal's north-west corner south
    (81.5, 82.5, 30.0, 45.1),  # 博乐
    (82.5, 83.0, 30.0, 47.1),  # 阿拉山口, 塔城
    # Tibet north of Nepal, Sikkim and Bhutan; northern Xinjiang below Kazakhstan and Mongolia
    (83.0, 84.5, 29.4, 47.1),  # Mustang south
    (84.5, 85.5, 28.6, 47.1),  # 克拉玛依; Kathmandu (27.7) south
    (85.5, 86.5, 28.1, 48.2),  # 吉隆, 聂拉木; 哈巴河
    (86.5, 88.0, 28.1, 49.1),  # Everest; 喀纳斯, 乌鲁木齐
    (88.0, 88.8, 28.1, 48.2),  # Sikkim south; 阿勒泰
    (88.8, 89.2, 27.3, 48.2),  # 亚东 (Chumbi valley)
    (89.2, 90.3, 28.3, 47.5),  # Bhutan south; Ölgii north
    (90.3, 91.0, 28.3, 46.8),  # 青河
    (91.0, 92.0, 28.3, 45.0),  # 拉萨; Hovd north
    (92.0, 93.5, 28.0, 45.0),  # 错那
    (93.5, 94.0, 28.0, 44.3),
    (94.0, 95.3, 28.7, 44.3),  # 墨脱
    (95.3, 96.0, 28.7, 43.0),
    (96.0, 96.5, 28.2, 43.0),
    (96.5, 97.5, 28.2, 42.5),  # 察隅
    # Yunnan along Myanmar, Laos and Vietnam; the Mongolian border to the north
    (97.5, 98.7, 28.0, 42.5),  # 贡山 north of Kachin
    (97.5, 98.7, 23.9, 25.2),  # 瑞丽, 盈江, 腾冲; Myitkyina (25.4) outside
    (98.7, 99.5, 23.5, 42.5),  # 泸水, 镇康
    (99.5, 101.0, 21.7, 42.5),  # 景洪, 勐海
    (101.0, 101.2, 21.7, 42.0),  # 额济纳
    (101.2, 102.0, 21.2, 42.0),  # 勐腊, 磨憨
    (102.0, 103.0, 22.4, 42.0),  # Lai Châu south
    (103.0, 104.0, 22.55, 42.0),  # 河口 / Lào Cai
    (104.0, 104.5, 22.55, 41.9),
    (104.5, 106.0, 23.2, 41.9),  # 麻栗坡, 那坡; Hà Giang and Hanoi south
    (106.0, 106.6, 22.9, 41.9),  # Cao Bằng south
    (106.6, 107.5, 21.9, 41.9),  # 凭祥; Ulaanbaatar far north
    (107.5, 108.1, 21.53, 42.5),  # 东兴
    # Guangxi coast, Hainan, Guangdong, Inner Mongolia
    (108.1, 111.0, 18.1, 42.5),  # 海口, 三亚, 北海
    (111.0, 111.2, 18.1, 43.2),
    (111.2, 111.5, 20.0, 43.2),
    (111.5, 113.0, 20.0, 43.7),  # 二连浩特 (43.65); Zamyn-Üüd (43.72) outside
    (113.0, 115.0, 20.0, 44.7),  # 香港, 澳门, 广州
    (115.0, 116.3, 20.0, 45.4),
    (116.3, 117.0, 20.0, 46.2),  # below the eastern lobe of Mongolia
    (116.3, 117.5, 47.8, 49.9),  # 呼伦湖, 满洲里, above it
    (117.0, 117.5, 23.0, 46.2),  # 汕头
    (117.5, 118.5, 23.0, 46.5),  # 厦门
    (117.5, 118.5, 47.9, 49.9),
    (118.5, 119.0, 23.0, 46.5),  # 泉州
    (118.5, 119.5, 47.9, 50.3),  # 海拉尔
    (119.0, 119.9, 25.0, 46.5),  # 福州, 平潭; Penghu south
    (119.5, 119.9, 47.6, 51.2),  # 阿尔山
    (119.9, 120.0, 25.0, 51.2),
    # The east coast north of Taiwan, the Argun and the Amur
    (120.0, 120.3, 26.7, 51.2),  # 福鼎; Taiwan (north tip 25.3) south
    (120.3, 121.0, 26.7, 52.2),  # 温州, 青岛, 额尔古纳
    (121.0, 122.0, 26.7, 53.3),  # 上海, 大连; Taipei south
    (122.0, 122.3, 26.7, 53.55),  # 舟山
    (122.3, 123.0, 29.7, 53.55),  # 嵊泗, 威海 (Shandong tip), 漠河
    (123.0, 124.3, 39.6, 53.55),  # 庄河, 东港; the Korean west coast south
    (124.3, 124.5, 40.05, 53.55),  # 丹东 / 新义州
    (124.5, 124.6, 40.05, 53.2),
    (124.6, 125.3, 40.5, 53.2),  # the Yalu
    (125.3, 125.5, 40.9, 53.2),  # Pyongyang (39.0) south
    (125.5, 126.0, 40.9, 52.7),
    (126.0, 126.5, 41.1, 52.7),  # 集安
    (126.5, 126.6, 41.1, 51.8),
    (126.6, 127.0, 41.45, 51.8),  # 哈尔滨, 呼玛; Seoul far south
    (127.0, 127.6, 41.45, 50.9),  # 黑河
    (127.6, 128.3, 41.45, 49.9),  # 长白
    (128.3, 128.5, 42.0, 49.9),  # 长白山
    (128.5, 129.0, 42.0, 49.4),
    (129.0, 129.6, 42.3, 49.4),  # 龙井
    (129.6, 130.0, 42.85, 49.4),  # 图们
    (130.0, 130.3, 42.85, 48.9),
    (130.3, 130.7, 42.4, 48.9),  # 珲春, 防川; Rason south
    (130.7, 130.8, 42.9, 48.9),
    (130.8, 131.2, 42.9, 48.0),  # 东宁, 绥芬河; Kraskino south
    (131.2, 132.0, 45.0, 48.0),  # 密山, Lake Khanka; Vladivostok (43.1) and Ussuriysk south
    (132.0, 133.1, 45.0, 47.9),  # 虎林, 同江
    (133.1, 133.5, 45.6, 47.9),  # the Ussuri
    (133.5, 133.9, 45.6, 48.4),
    (133.9, 134.4, 46.7, 48.4),  # 饶河, 抚远
    (134.4, 134.8, 47.5, 48.4),  # 黑瞎子岛; Khabarovsk (135.1) east
    # South China Sea
    (111.0, 113.0, 15.7, 17.2),  # 西沙群岛, 三沙 (永兴岛)
)

_STRIPS: Final[FloatArray] = np.array(_CHINA_STRIPS, dtype=np.float64)
_WEST, _EAST, _SOUTH, _NORTH = (_STRIPS[:, i] for i in range(4))
# The preimage of a point in China lies within a few hundredths of a degree of it; iterating the inverse
# elsewhere (near the poles the GCJ-02 offset formula blows up) is pointless and unsafe.
_NEAR_MARGIN: Final = 0.2
_BLOCK: Final = 65536
_EDGE_MARGIN: Final = 1e-9  # degrees, about 0.1 mm: absorbs rounding in the iterated inverses
_NEAR_BOX: Final = (
    float(_WEST.min()) - _NEAR_MARGIN,
    float(_SOUTH.min()) - _NEAR_MARGIN,
    float(_EAST.max()) + _NEAR_MARGIN,
    float(_NORTH.max()) + _NEAR_MARGIN,
)


def _in_china_array(lon: FloatArray, lat: FloatArray, margin: float = 0.0) -> BoolArray:
    """1-d arrays in, 1-d mask out. Points are tested against all strips in blocks, to bound memory.

    ``margin`` widens every strip; the inverses use a tiny one so that a solution that lands 1e-14° outside a
    strip edge, through rounding, still counts as the in-China point it came from.
    """
    west, east, south, north = _WEST - margin, _EAST + margin, _SOUTH - margin, _NORTH + margin
    result: BoolArray = np.zeros(lon.shape, dtype=np.bool_)
    for start in range(0, lon.size, _BLOCK):
        col_lon = lon[start : start + _BLOCK, np.newaxis]
        col_lat = lat[start : start + _BLOCK, np.newaxis]
        hit = (col_lon >= west) & (col_lon <= east) & (col_lat >= south) & (col_lat <= north)
        result[start : start + _BLOCK] = hit.any(axis=1)
    return result


@overload
def in_china(lon: float, lat: float) -> bool: ...
@overload
def in_china(lon: ArrayInput, lat: ArrayInput) -> BoolArray: ...
def in_china(lon: float | ArrayInput, lat: float | ArrayInput) -> bool | BoolArray:
    """Whether the GCJ-02 shift applies at WGS-84 (lon, lat): inside mainland China, Hainan, Hong Kong and Macau.

    An approximation by longitude strips (see ``_CHINA_STRIPS``), good to roughly a quarter of a degree along
    land borders. Non-finite coordinates are outside.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    result = _in_china_array(lon_a, lat_a)
    if _is_scalar(lon) and _is_scalar(lat):
        return bool(result[0])
    return result.reshape(_shape(lon, lat))


# ---------------------------------------------------------------------------------------------------------------
# The transforms, unconditionally (no in-China test) on float64 arrays.
# ---------------------------------------------------------------------------------------------------------------
_KRASOVSKY_A: Final = 6378245.0  # semi-major axis of the Krasovsky 1940 ellipsoid, metres
_KRASOVSKY_EE: Final = 0.00669342162296594323  # its first eccentricity squared
_BD_X_PI: Final = math.pi * 3000.0 / 180.0
_BD_DX: Final = 0.0065
_BD_DY: Final = 0.006
_ITER_STEPS: Final = 10  # see _invert: reaches ~1e-13 degree, far below the promised 1e-9


def _gcj_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The GCJ-02 offset (d_lon, d_lat) in degrees at WGS-84 (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    # Terms shared by both components: a short-period ripple in x.
    ripple = (20.0 * np.sin(6.0 * np.pi * x) + 20.0 * np.sin(2.0 * np.pi * x)) * (2.0 / 3.0)
    root_x = np.sqrt(np.abs(x))
    north_m = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * root_x
        + ripple
        + (20.0 * np.sin(np.pi * y) + 40.0 * np.sin(np.pi * y / 3.0)) * (2.0 / 3.0)
        + (160.0 * np.sin(np.pi * y / 12.0) + 320.0 * np.sin(np.pi * y / 30.0)) * (2.0 / 3.0)
    )
    east_m = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * root_x
        + ripple
        + (20.0 * np.sin(np.pi * x) + 40.0 * np.sin(np.pi * x / 3.0)) * (2.0 / 3.0)
        + (150.0 * np.sin(np.pi * x / 12.0) + 300.0 * np.sin(np.pi * x / 30.0)) * (2.0 / 3.0)
    )
    # Metres to degrees on the Krasovsky ellipsoid: meridian and prime-vertical radii of curvature.
    phi = np.radians(lat)
    w2 = 1.0 - _KRASOVSKY_EE * np.sin(phi) ** 2
    w = np.sqrt(w2)
    meridian_radius = _KRASOVSKY_A * (1.0 - _KRASOVSKY_EE) / (w2 * w)
    parallel_radius = _KRASOVSKY_A / w * np.cos(phi)
    d_lat: FloatArray = np.degrees(north_m / meridian_radius)
    d_lon: FloatArray = np.degrees(east_m / parallel_radius)
    return d_lon, d_lat


def _wgs_to_gcj_raw(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    d_lon, d_lat = _gcj_offset(lon, lat)
    return lon + d_lon, lat + d_lat


def _gcj_to_bd_raw(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    radius = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    angle = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    bd_lon: FloatArray = radius * np.cos(angle) + _BD_DX
    bd_lat: FloatArray = radius * np.sin(angle) + _BD_DY
    return bd_lon, bd_lat


def _wgs_to_bd_raw(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return _gcj_to_bd_raw(*_wgs_to_gcj_raw(lon, lat))


Forward = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]


def _invert(forward: Forward, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Solve forward(x, y) = (lon, lat) by fixed-point iteration.

    Every forward map here is the identity plus an offset that changes slowly: x ← x − (forward(x) − target)
    shrinks the error by a factor of at most about 0.02 per step (measured over China), from at most 0.015° at
    the start to the floating-point floor (~1e-13°) after seven steps. A fixed number of steps, rather than
    "until converged", keeps each result independent of the other points in the batch, so scalar and array
    calls agree bit for bit. NaN stays NaN.
    """
    x = lon.copy()
    y = lat.copy()
    for _ in range(_ITER_STEPS):
        fx, fy = forward(x, y)
        x = x - (fx - lon)
        y = y - (fy - lat)
    return x, y


# ---------------------------------------------------------------------------------------------------------------
# Public conversions.
# ---------------------------------------------------------------------------------------------------------------
def _is_scalar(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, np.ndarray)


def _as_arrays(lon: float | ArrayInput, lat: float | ArrayInput) -> tuple[FloatArray, FloatArray]:
    """Broadcast copies as float64, flattened to 1-d (numpy turns 0-d results into scalars, which we avoid)."""
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return lon_a.ravel().copy(), lat_a.ravel().copy()


def _shape(lon: float | ArrayInput, lat: float | ArrayInput) -> tuple[int, ...]:
    return tuple(np.broadcast_shapes(np.shape(lon), np.shape(lat)))


def _near_china(lon: FloatArray, lat: FloatArray) -> BoolArray:
    west, south, east, north = _NEAR_BOX
    near: BoolArray = (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
    return near


def _shift_forward(forward: Forward, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Apply ``forward`` where the (WGS-84) input is in China; identity elsewhere."""
    mask = _in_china_array(lon, lat)
    out_lon, out_lat = lon.copy(), lat.copy()
    if mask.any():
        out_lon[mask], out_lat[mask] = forward(lon[mask], lat[mask])
    return out_lon, out_lat


def _shift_inverse(
    forward: Forward, lon: FloatArray, lat: FloatArray, *, wgs_of: Forward | None = None
) -> tuple[FloatArray, FloatArray]:
    """Invert ``forward`` where the solution's underlying WGS-84 point is in China; identity elsewhere.

    ``wgs_of`` maps a solution to its WGS-84 point when the solution is not itself WGS-84 (BD-09 → GCJ-02).
    """
    out_lon, out_lat = lon.copy(), lat.copy()
    near = _near_china(lon, lat)
    if not near.any():
        return out_lon, out_lat
    sol_lon, sol_lat = _invert(forward, lon[near], lat[near])
    wgs_lon, wgs_lat = wgs_of(sol_lon, sol_lat) if wgs_of is not None else (sol_lon, sol_lat)
    inside = _in_china_array(wgs_lon, wgs_lat, margin=_EDGE_MARGIN)
    apply = near.copy()
    apply[near] = inside
    out_lon[apply] = sol_lon[inside]
    out_lat[apply] = sol_lat[inside]
    return out_lon, out_lat


def _gcj_to_wgs_where_china(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return _shift_inverse(_wgs_to_gcj_raw, lon, lat)


def _wgs_of_gcj(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return _invert(_wgs_to_gcj_raw, lon, lat)


def _result(
    lon_in: float | ArrayInput, lat_in: float | ArrayInput, lon: FloatArray, lat: FloatArray
) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
    if _is_scalar(lon_in) and _is_scalar(lat_in):
        return float(lon[0]), float(lat[0])
    shape = _shape(lon_in, lat_in)
    return lon.reshape(shape), lat.reshape(shape)


def _gcj_to_bd_where_china(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    out_lon, out_lat = lon.copy(), lat.copy()
    near = _near_china(lon, lat)
    if not near.any():
        return out_lon, out_lat
    g_lon, g_lat = lon[near], lat[near]
    w_lon, w_lat = _wgs_of_gcj(g_lon, g_lat)
    inside = _in_china_array(w_lon, w_lat, margin=_EDGE_MARGIN)
    b_lon, b_lat = _gcj_to_bd_raw(g_lon, g_lat)
    out_lon[near] = np.where(inside, b_lon, g_lon)
    out_lat[near] = np.where(inside, b_lat, g_lat)
    return out_lon, out_lat


_Pair = tuple[float, float]
_ArrayPair = tuple[FloatArray, FloatArray]


@overload
def wgs84_to_gcj02(lon: float, lat: float) -> _Pair: ...
@overload
def wgs84_to_gcj02(lon: ArrayInput, lat: ArrayInput) -> _ArrayPair: ...
def wgs84_to_gcj02(lon: float | ArrayInput, lat: float | ArrayInput) -> _Pair | _ArrayPair:
    """WGS-84 → GCJ-02 (高德/腾讯). Identity outside China."""
    lon_a, lat_a = _as_arrays(lon, lat)
    return _result(lon, lat, *_shift_forward(_wgs_to_gcj_raw, lon_a, lat_a))


@overload
def gcj02_to_wgs84(lon: float, lat: float) -> _Pair: ...
@overload
def gcj02_to_wgs84(lon: ArrayInput, lat: ArrayInput) -> _ArrayPair: ...
def gcj02_to_wgs84(lon: float | ArrayInput, lat: float | ArrayInput) -> _Pair | _ArrayPair:
    """GCJ-02 → WGS-84, the exact inverse of :func:`wgs84_to_gcj02` (iterated to < 1e-9°)."""
    lon_a, lat_a = _as_arrays(lon, lat)
    return _result(lon, lat, *_gcj_to_wgs_where_china(lon_a, lat_a))


@overload
def gcj02_to_bd09(lon: float, lat: float) -> _Pair: ...
@overload
def gcj02_to_bd09(lon: ArrayInput, lat: ArrayInput) -> _ArrayPair: ...
def gcj02_to_bd09(lon: float | ArrayInput, lat: float | ArrayInput) -> _Pair | _ArrayPair:
    """GCJ-02 → BD-09 (百度). Identity where the underlying WGS-84 point is outside China."""
    lon_a, lat_a = _as_arrays(lon, lat)
    return _result(lon, lat, *_gcj_to_bd_where_china(lon_a, lat_a))


@overload
def bd09_to_gcj02(lon: float, lat: float) -> _Pair: ...
@overload
def bd09_to_gcj02(lon: ArrayInput, lat: ArrayInput) -> _ArrayPair: ...
def bd09_to_gcj02(lon: float | ArrayInput, lat: float | ArrayInput) -> _Pair | _ArrayPair:
    """BD-09 → GCJ-02, the exact inverse of :func:`gcj02_to_bd09` (iterated to < 1e-9°)."""
    lon_a, lat_a = _as_arrays(lon, lat)
    return _result(lon, lat, *_shift_inverse(_gcj_to_bd_raw, lon_a, lat_a, wgs_of=_wgs_of_gcj))


@overload
def wgs84_to_bd09(lon: float, lat: float) -> _Pair: ...
@overload
def wgs84_to_bd09(lon: ArrayInput, lat: ArrayInput) -> _ArrayPair: ...
def wgs84_to_bd09(lon: float | ArrayInput, lat: float | ArrayInput) -> _Pair | _ArrayPair:
    """WGS-84 → BD-09 (百度), i.e. through GCJ-02. Identity outside China."""
    lon_a, lat_a = _as_arrays(lon, lat)
    return _result(lon, lat, *_shift_forward(_wgs_to_bd_raw, lon_a, lat_a))


@overload
def bd09_to_wgs84(lon: float, lat: float) -> _Pair: ...
@overload
def bd09_to_wgs84(lon: ArrayInput, lat: ArrayInput) -> _ArrayPair: ...
def bd09_to_wgs84(lon: float | ArrayInput, lat: float | ArrayInput) -> _Pair | _ArrayPair:
    """BD-09 → WGS-84, the exact inverse of :func:`wgs84_to_bd09` (iterated to < 1e-9°)."""
    lon_a, lat_a = _as_arrays(lon, lat)
    return _result(lon, lat, *_shift_inverse(_wgs_to_bd_raw, lon_a, lat_a))


_ArrayConversion = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]


def _bd_to_gcj_where_china(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return _shift_inverse(_gcj_to_bd_raw, lon, lat, wgs_of=_wgs_of_gcj)


def _wgs_to_gcj_where_china(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return _shift_forward(_wgs_to_gcj_raw, lon, lat)


def _wgs_to_bd_where_china(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return _shift_forward(_wgs_to_bd_raw, lon, lat)


def _bd_to_wgs_where_china(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return _shift_inverse(_wgs_to_bd_raw, lon, lat)


_CONVERSIONS: Final[dict[tuple[CRS, CRS], _ArrayConversion]] = {
    (CRS.WGS84, CRS.GCJ02): _wgs_to_gcj_where_china,
    (CRS.GCJ02, CRS.WGS84): _gcj_to_wgs_where_china,
    (CRS.GCJ02, CRS.BD09): _gcj_to_bd_where_china,
    (CRS.BD09, CRS.GCJ02): _bd_to_gcj_where_china,
    (CRS.WGS84, CRS.BD09): _wgs_to_bd_where_china,
    (CRS.BD09, CRS.WGS84): _bd_to_wgs_where_china,
}


def _convert_arrays(lon: FloatArray, lat: FloatArray, src: CRS, dst: CRS) -> tuple[FloatArray, FloatArray]:
    src, dst = CRS(src), CRS(dst)
    if src == dst:
        return lon, lat
    return _CONVERSIONS[(src, dst)](lon, lat)


@overload
def convert(lon: float, lat: float, src: CRS, dst: CRS) -> _Pair: ...
@overload
def convert(lon: ArrayInput, lat: ArrayInput, src: CRS, dst: CRS) -> _ArrayPair: ...
def convert(lon: float | ArrayInput, lat: float | ArrayInput, src: CRS, dst: CRS) -> _Pair | _ArrayPair:
    """Convert (lon, lat) from ``src`` to ``dst``; identity (as float64 copies) when they are the same."""
    lon_a, lat_a = _as_arrays(lon, lat)
    return _result(lon, lat, *_convert_arrays(lon_a, lat_a, src, dst))


@overload
def to_wgs84(lon: float, lat: float, src: CRS) -> _Pair: ...
@overload
def to_wgs84(lon: ArrayInput, lat: ArrayInput, src: CRS) -> _ArrayPair: ...
def to_wgs84(lon: float | ArrayInput, lat: float | ArrayInput, src: CRS) -> _Pair | _ArrayPair:
    """Convert (lon, lat) from ``src`` to WGS-84, the system civicgrid stores."""
    lon_a, lat_a = _as_arrays(lon, lat)
    return _result(lon, lat, *_convert_arrays(lon_a, lat_a, src, CRS.WGS84))


def transform_geometry(geometry: G, src: CRS, dst: CRS) -> G:
    """A copy of a shapely geometry with every vertex converted from ``src`` to ``dst``.

    One vectorised :func:`shapely.transform` call; Z values, if any, are kept unchanged.
    """
    if CRS(src) == CRS(dst):
        return geometry
    has_z = bool(shapely.has_z(geometry))

    def move(coords: FloatArray) -> FloatArray:
        out = np.array(coords, dtype=np.float64, copy=True)
        if out.shape[0]:
            out[:, 0], out[:, 1] = _convert_arrays(out[:, 0].copy(), out[:, 1].copy(), src, dst)
        return out

    result: G = shapely.transform(geometry, move, include_z=has_z)
    return result


# ---------------------------------------------------------------------------------------------------------------
# Validation of incoming longitude/latitude.
# ---------------------------------------------------------------------------------------------------------------
def _json_number(value: float) -> float | str:
    """A value for ``detail``: JSON has no NaN or infinity, so those become strings."""
    return value if math.isfinite(value) else str(value)


def validate_lonlat(lons: npt.ArrayLike, lats: npt.ArrayLike) -> None:
    """Refuse coordinates that cannot be WGS-84/GCJ-02/BD-09 longitude/latitude.

    Checks, in order: equal counts; every value finite; not the swapped (lat, lon) order over China (all
    "longitudes" in [0, 90] and all "latitudes" in [70, 180]); |lon| ≤ 180 and |lat| ≤ 90. Raises
    :class:`InvalidInputError` (codes ``invalid_coordinates`` and ``swapped_axes``) naming the first bad point
    (1-based in the message, 0-based ``index`` in ``detail``).
    """
    lon = np.asarray(lons, dtype=np.float64).ravel()
    lat = np.asarray(lats, dtype=np.float64).ravel()
    if lon.shape != lat.shape:
        raise InvalidInputError(
            f"经度和纬度的个数不一致（经度 {lon.size} 个，纬度 {lat.size} 个）。",
            code="invalid_coordinates",
            detail={"lon_count": int(lon.size), "lat_count": int(lat.size)},
        )
    if lon.size == 0:
        return

    def point_detail(i: int, problem: str) -> dict[str, Any]:
        return {"index": i, "lon": _json_number(float(lon[i])), "lat": _json_number(float(lat[i])), "problem": problem}

    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    if bad.any():
        i = int(np.argmax(bad))
        raise InvalidInputError(
            f"第 {i + 1} 个点的坐标不是有效数值（经度 {lon[i]}，纬度 {lat[i]}）：坐标不能为空、非数字或无穷大。",
            code="invalid_coordinates",
            detail=point_detail(i, "not_finite"),
        )

    if np.all((lon >= 0.0) & (lon <= 90.0) & (lat >= 70.0) & (lat <= 180.0)):
        raise InvalidInputError(
            "经纬度顺序似乎颠倒了：所有点的“经度”都在 0 到 90 之间、“纬度”都在 70 到 180 之间，"
            f"看起来是按（纬度, 经度）顺序书写的中国境内坐标（第 1 个点：{lon[0]}, {lat[0]}）。"
            "GeoJSON 和本系统要求经度在前、纬度在后，即 [经度, 纬度]；请交换两列后重试。",
            code="swapped_axes",
            detail={**point_detail(0, "swapped_axes"), "count": int(lon.size)},
        )

    lon_bad = np.abs(lon) > 180.0
    lat_bad = np.abs(lat) > 90.0
    out_of_range = lon_bad | lat_bad
    if out_of_range.any():
        i = int(np.argmax(out_of_range))
        which = []
        if lon_bad[i]:
            which.append(f"经度 {lon[i]} 不在 -180 到 180 之间")
        if lat_bad[i]:
            which.append(f"纬度 {lat[i]} 不在 -90 到 90 之间")
        raise InvalidInputError(
            f"第 {i + 1} 个点（{lon[i]}, {lat[i]}）超出经纬度范围：{'，'.join(which)}。"
            "这些数值可能是以米为单位的投影坐标（如 EPSG:3857 网络墨卡托或 CGCS2000 3 度带高斯-克吕格投影），"
            "而不是经纬度；请先转换为经纬度再导入。",
            code="invalid_coordinates",
            detail=point_detail(i, "out_of_range"),
        )
