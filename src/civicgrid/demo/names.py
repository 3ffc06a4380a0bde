"""Plausible Chinese place and person names for the demo (generated, not taken from any register)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

# Two characters per place stem; one per surname and per given-name character.
_PLACE_STEMS = (
    "泰和华山嵩山金山银河湖滨和平幸福东方新华振华安居福寿长江黄河海滨朝阳春晖文昌书香丰收建设胜利团结光明"
    "红星青年前进向阳民安康宁锦绣翠湖怡园汇景龙湾凤鸣星海望海观澜鹤山松岭柳岸桃源杏林荷塘石桥泉水古井盐场"
    "渔港码头南岭北坡东庄西河马家王家李家孙家周家吴家郑家冯家陈家褚家卫家蒋家沈家韩家杨家朱家秦家许家何家"
    "吕家施家张家"
)
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国文辉鹏宇欣悦晨浩瑞婷雪"


def settlement_names(rng: np.random.Generator) -> Iterator[str]:
    """Distinct name stems in a seeded order; falls back to numbered stems if ever exhausted."""
    stems = [_PLACE_STEMS[i : i + 2] for i in range(0, len(_PLACE_STEMS), 2)]
    for index in rng.permutation(len(stems)):
        yield stems[int(index)]
    number = 1
    while True:
        yield f"新村{number}"
        number += 1


def person_names(rng: np.random.Generator) -> Iterator[str]:
    while True:
        surname = _SURNAMES[int(rng.integers(len(_SURNAMES)))]
        given_length = 1 if rng.random() < 0.35 else 2
        given = "".join(_GIVEN[int(rng.integers(len(_GIVEN)))] for _ in range(given_length))
        yield surname + given
