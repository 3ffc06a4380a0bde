"""Name normalisation for matching boundaries to grid nodes.

Official names and map data spell the same place differently: 泰山社区居民委员会 / 泰山社区居委会 / 泰山社区,
潮海街道办事处 / 潮海街道, 王家庄村村民委员会 / 王家庄村委会 / 王家庄村, 即墨区 / 即墨市 (an old name kept in OSM).
``name_key`` strips such suffixes so that they compare equal; matching code decides what to do with collisions.
"""

from __future__ import annotations

import re
import unicodedata

# Longest match first; repeated passes peel 王家庄村村民委员会 → 王家庄 and 泰山社区居委会 → 泰山.
_SUFFIXES = tuple(
    sorted(
        {
            "社区居民委员会",
            "村村民委员会",
            "社区居委会",
            "居民委员会",
            "村民委员会",
            "街道办事处",
            "社区委员会",
            "委员会",
            "居委会",
            "村委会",
            "办事处",
            "管委会",
            "管理委员会",
            "街道",
            "社区",
            "新区",
            "地区",
            "自治县",
            "自治州",
            "特别行政区",
            "自治区",
            "省",
            "市",
            "区",
            "县",
            "旗",
            "镇",
            "乡",
            "村",
            "居",
        },
        key=len,
        reverse=True,
    )
)
_NOISE = re.compile(r"[\s\u3000·•・\-—_()（）\[\]【】]")
_MIN_STEM = 2


def clean_name(name: str) -> str:
    """Unicode-normalise (full-width → half-width) and drop whitespace and brackets' punctuation."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", name))


def name_key(name: str) -> str:
    """A comparison key: the name without administrative suffixes; never shorter than two characters."""
    key = clean_name(name)
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            if key.endswith(suffix) and len(key) - len(suffix) >= _MIN_STEM:
                key = key[: -len(suffix)]
                changed = True
                break
    return key
