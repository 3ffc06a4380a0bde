"""Titles made from a description: a whole first sentence, or a cut at a pause marked with an ellipsis."""

from __future__ import annotations

from civicgrid.text import ELLIPSIS, headline


def test_a_short_first_sentence_is_the_title_as_it_stands() -> None:
    assert headline("路灯不亮。已经三天了，晚上出行很不方便") == "路灯不亮"


def test_a_long_text_is_cut_at_its_last_pause_and_says_it_goes_on() -> None:
    title = headline("小区门口有大量暴露垃圾无人清理，已经持续了一个星期，气味很大，影响居民出行")
    assert title == "小区门口有大量暴露垃圾无人清理，已经持续了一个星期" + ELLIPSIS
    assert len(title) <= 30


def test_a_cut_never_splits_a_number_or_a_latin_word() -> None:
    title = headline("监测点数据显示今天下午以来这里附近空气中的颗粒物含量与PM2.5浓度持续超标")
    assert title == "监测点数据显示今天下午以来这里附近空气中的颗粒物含量与" + ELLIPSIS
    unbroken = headline("这是一段很长的没有标点的中文描述需要在第三十个字的地方截断并加上省略号")
    assert len(unbroken) == 30 and unbroken.endswith(ELLIPSIS)
