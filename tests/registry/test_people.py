"""实有人口 through the service, on both backends: a grid worker records people in her grid with checked, sealed and
masked identifiers; duplicates, bad numbers, other people's grids and stale corrections are refused; a full view
needs the permission and a reason and is audited; the history answers what a record looked like on a date."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text
from tests.cases.conftest import IN_OTHER_STREET, IN_UNIT, OTHER_UNIT, UNIT, District, beijing
from tests.cases.test_flow import report

from civicgrid import timesource
from civicgrid.audit import AuditEntry
from civicgrid.cases.models import Placement
from civicgrid.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from civicgrid.geo.coords import wgs84_to_gcj02
from civicgrid.org.actor import Actor
from civicgrid.registry import people
from civicgrid.registry.models import CaseSubject, Person, Residence
from civicgrid.registry.protect import Protector

ID_NUMBER = "11010519491231002X"
PHONE = "13812345678"
PROTECTOR = Protector(b"t" * 32)


def at_home(**overrides: object) -> people.PersonInput:
    lon, lat = wgs84_to_gcj02(*IN_UNIT)
    fields: dict[str, object] = {
        "name": "王秀兰",
        "id_number": ID_NUMBER,
        "phone": PHONE,
        "residence": Residence.HOUSEHOLD,
        "tags": ("独居老人", " 低保 "),
        "address": "泰和路12号2单元301",
        "lon": lon,
        "lat": lat,
        "crs": "gcj02",
    }
    fields.update(overrides)
    return people.PersonInput(**fields)  # type: ignore[arg-type]


def registered(d: District, **overrides: object) -> Person:
    return people.register_person(d.session, d.grid_worker, at_home(**overrides), PROTECTOR)


def test_a_grid_worker_records_a_person_with_sealed_masked_identifiers(district: District) -> None:
    d = district
    person = registered(d)
    assert person.placement == Placement.LOCATED.value and person.scope_code == UNIT
    assert person.birth_date == dt.date(1949, 12, 31) and person.male is False  # read from the ID number
    stored = d.session.execute(text("SELECT * FROM registry_person WHERE id = :id"), {"id": person.id}).one()
    assert ID_NUMBER not in str(stored) and PHONE not in str(stored)  # sealed at rest
    shown = people.view(person, PROTECTOR)
    assert (shown.id_number, shown.phone) == ("1101**********002X", "138****5678")
    assert shown.tags == ("低保", "独居老人") and shown.residence is Residence.HOUSEHOLD
    (created,) = people.history(d.session, d.grid_worker, person.id)
    assert created.action == "create" and created.fields["name"] == [None, "王秀兰"]
    assert ID_NUMBER not in str(created.fields)  # the history keeps it sealed too


def test_the_same_id_number_is_not_registered_twice(district: District) -> None:
    first = registered(district)
    with pytest.raises(ConflictError) as refused:
        registered(district, name="王秀兰（重复）", id_number=" 110105 19491231 002x ")
    assert refused.value.code == "duplicate_person" and refused.value.detail == {"person_id": first.id}


def test_a_wrong_id_number_or_phone_is_refused_and_nothing_is_stored(district: District) -> None:
    d = district
    for overrides, code in (
        ({"id_number": "110105194912310021"}, "id_number_checksum"),
        ({"phone": "2381234567"}, "mobile_format"),
        ({"name": "  "}, "name_required"),
    ):
        with pytest.raises(InvalidInputError) as refused:
            registered(d, **overrides)
        assert refused.value.code == code
    assert d.session.execute(select(func.count()).select_from(Person)).scalar_one() == 0


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"name": "王\x00秀兰"}, "unstorable_text", "name"),
        ({"address": "泰和路\ud800"}, "unstorable_text", "address"),
        ({"household_no": "户" * 41}, "text_too_long", "household_no"),
        ({"address": "路" * 201}, "text_too_long", "address"),
        ({"tags": ("老" * 21,)}, "text_too_long", "tags"),
        ({"tags": tuple(f"标签{n}" for n in range(21))}, "too_many_items", None),
    ],
)
def test_every_text_of_a_person_is_held_to_its_descriptor(
    district: District, overrides: dict[str, object], code: str, field: str | None
) -> None:
    """The service checks, so every path — API, page, CLI, import — refuses the same way before the database."""
    d = district
    with pytest.raises(InvalidInputError) as refused:
        registered(d, **overrides)
    assert refused.value.code == code and refused.value.detail.get("field") == field
    person = registered(d)
    for name, value in overrides.items():
        with pytest.raises(InvalidInputError):
            people.correct_person(
                d.session, d.grid_worker, person.id, {name: value}, expected_version=1, protector=PROTECTOR
            )
    with pytest.raises(InvalidInputError) as long_reason:
        people.reveal(d.session, d.system, person.id, reason="因" * 501, protector=PROTECTOR)
    assert long_reason.value.code == "text_too_long"
    assert d.session.execute(select(func.count()).select_from(Person)).scalar_one() == 1


def test_ids_beyond_the_id_column_find_nothing(district: District) -> None:
    for number in (0, -1, 2**31, 2**63, 10**20):
        with pytest.raises(NotFoundError):
            people.get_person(district.session, district.system, number)


def test_a_point_outside_every_grid_is_kept_and_flagged(district: District) -> None:
    lon, lat = wgs84_to_gcj02(121.9, 37.9)  # at sea
    person = registered(district, lon=lon, lat=lat)
    assert person.placement == Placement.OUTSIDE.value and person.scope_code == UNIT  # looked after by her grid


def test_people_stay_within_the_actors_grids(district: District) -> None:
    d = district
    mine = registered(d)
    with pytest.raises(PermissionDeniedError):  # not her grid
        registered(d, id_number=None, lon=None, lat=None, grid_code=OTHER_UNIT)
    lon, lat = wgs84_to_gcj02(*IN_OTHER_STREET)
    elsewhere = people.register_person(d.session, d.system, at_home(id_number=None, lon=lon, lat=lat), PROTECTOR)
    with pytest.raises(NotFoundError):
        people.get_person(d.session, d.grid_worker, elsewhere.id)
    assert [p.id for p in people.list_people(d.session, d.grid_worker)] == [mine.id]
    assert {p.id for p in people.list_people(d.session, d.leader)} == {mine.id}  # 海川街道's leader
    with pytest.raises(PermissionDeniedError):
        people.list_people(d.session, d.hotline)  # no registry permission


def test_a_correction_is_versioned_and_a_stale_one_refused(district: District) -> None:
    d = district
    with timesource.pinned(beijing(2026, 3, 1, 9)):
        person = registered(d)
    read_version = person.version
    with timesource.pinned(beijing(2026, 6, 1, 9)):
        people.correct_person(
            d.session,
            d.grid_worker,
            person.id,
            {"name": "王秀英", "tags": ["独居老人"], "phone": "13900001111"},
            expected_version=read_version,
            protector=PROTECTOR,
            reason="入户核实",
        )
    with pytest.raises(ConflictError) as stale:  # a second correction made from the same old read
        people.correct_person(
            d.session, d.grid_worker, person.id, {"name": "王秀"}, expected_version=read_version, protector=PROTECTOR
        )
    assert stale.value.code == "stale_version" and person.name == "王秀英"
    change = people.history(d.session, d.grid_worker, person.id)[-1]
    assert change.fields["name"] == ["王秀兰", "王秀英"] and change.fields["tags"] == [
        ["低保", "独居老人"],
        ["独居老人"],
    ]
    assert change.reason == "入户核实" and "phone" in change.fields and "13900001111" not in str(change.fields)
    assert people.view(person, PROTECTOR).phone == "139****1111"

    def name_on(day: dt.datetime) -> object:
        state = people.as_of(d.session, d.grid_worker, person.id, day)
        return None if state is None else state["name"]

    assert name_on(beijing(2026, 2, 1)) is None  # not registered yet
    assert name_on(beijing(2026, 4, 1)) == "王秀兰"
    assert name_on(beijing(2026, 7, 1)) == "王秀英"


def test_a_full_view_needs_the_permission_and_a_reason_and_is_audited(district: District, street_admin: Actor) -> None:
    d = district
    person = registered(d)
    for actor in (d.grid_worker, d.leader):
        with pytest.raises(PermissionDeniedError):
            people.reveal(d.session, actor, person.id, reason="核实身份", protector=PROTECTOR)
    with pytest.raises(InvalidInputError) as no_reason:
        people.reveal(d.session, street_admin, person.id, reason=" ", protector=PROTECTOR)
    assert no_reason.value.code == "reason_required"
    shown = people.reveal(d.session, street_admin, person.id, reason="低保复核需核对身份", protector=PROTECTOR)
    assert shown == {"id_number": ID_NUMBER, "phone": PHONE}
    (entry,) = d.session.execute(select(AuditEntry).where(AuditEntry.action == "registry.reveal")).scalars()
    assert entry.actor_label == street_admin.label and entry.object_key == str(person.id)
    assert entry.detail == {"reason": "低保复核需核对身份", "fields": ["id_number", "phone"]}


def test_moving_out_keeps_the_record_out_of_the_current_list(district: District) -> None:
    d = district
    person = registered(d)
    people.move_out(d.session, d.grid_worker, person.id, expected_version=person.version, reason="迁往外市")
    assert people.list_people(d.session, d.grid_worker) == []
    assert people.list_people(d.session, d.grid_worker, include_moved_out=True) == [person]
    with pytest.raises(ConflictError):
        people.move_out(d.session, d.grid_worker, person.id, expected_version=person.version, reason="再次迁出")
    assert people.history(d.session, d.grid_worker, person.id)[-1].action == "move_out"


def test_find_people_pages_and_filters_in_sql(district: District) -> None:
    d = district
    registered(d)
    registered(d, name="李建国", id_number=None, tags=("退役军人",), address="华山路5号", household_no="HC-0002")
    registered(d, name="张_100%", id_number=None, tags=())
    rows, total = people.find_people(d.session, d.grid_worker, people.PeopleFilter(tag="独居老人"))
    assert [p.name for p in rows] == ["王秀兰"] and total == 1
    rows, _ = people.find_people(d.session, d.grid_worker, people.PeopleFilter(text="华山"))
    assert [p.name for p in rows] == ["李建国"]
    rows, _ = people.find_people(d.session, d.grid_worker, people.PeopleFilter(text="_100%"))
    assert [p.name for p in rows] == ["张_100%"]
    rows, _ = people.find_people(d.session, d.grid_worker, people.PeopleFilter(text="0_"))
    assert rows == []  # the wildcard is literal
    rows, _ = people.find_people(d.session, d.grid_worker, people.PeopleFilter(household_no=" HC-0002 "))
    assert [p.name for p in rows] == ["李建国"]
    rows, total = people.find_people(d.session, d.grid_worker, limit=1, offset=2)
    assert len(rows) == 1 and total == 3


def test_two_records_of_one_person_merge_into_one_with_both_histories(district: District) -> None:
    d = district
    kept = registered(d, id_number=None, phone=None, tags=("独居老人",), household_no=None)
    duplicate = registered(d, name="王秀兰（网格员录入）", tags=("低保",), household_no="HC-0009")
    subject = CaseSubject(case_id=report(d).id, object_type="person", object_id=duplicate.id, linked_by_user_id=None)
    d.session.add(subject)
    d.session.flush()
    merged = people.merge_people(
        d.session, d.grid_worker, kept.id, duplicate.id, expected_versions=(1, 1), reason="同一人重复登记"
    )
    shown = people.view(merged, PROTECTOR)
    assert shown.id_number == "1101**********002X" and shown.phone == "138****5678"
    assert shown.tags == ("低保", "独居老人") and shown.household_no == "HC-0009" and shown.name == "王秀兰"
    assert duplicate.merged_into_id == kept.id and duplicate.id_number_index is None
    assert [p.id for p in people.list_people(d.session, d.grid_worker)] == [kept.id]  # the duplicate is not listed
    assert subject.object_id == kept.id  # the case now names the kept record
    (kept_merge,) = [c for c in people.history(d.session, d.grid_worker, kept.id) if c.action == "merge"]
    assert kept_merge.fields["merged_from"] == [None, duplicate.id] and kept_merge.reason == "同一人重复登记"
    assert "id_number" in kept_merge.fields and ID_NUMBER not in str(kept_merge.fields)
    duplicate_merge = people.history(d.session, d.grid_worker, duplicate.id)[-1]
    assert duplicate_merge.fields["merged_into_id"] == [None, kept.id]
    with pytest.raises(ConflictError) as again:
        people.merge_people(d.session, d.grid_worker, kept.id, duplicate.id, expected_versions=(2, 2), reason="再")
    assert again.value.code == "already_merged"


def test_people_with_different_id_numbers_or_stale_reads_are_not_merged(district: District) -> None:
    d = district
    first = registered(d)
    second = registered(d, id_number="370202198001010010", name="王秀兰")
    for kept_id, duplicate_id, versions, reason, error, code in (
        (first.id, second.id, (1, 1), "重复", ConflictError, "merge_different_people"),
        (first.id, first.id, (1, 1), "重复", InvalidInputError, "merge_same_person"),
        (first.id, second.id, (1, 1), " ", ConflictError, "merge_different_people"),
    ):
        with pytest.raises(error) as refused:
            people.merge_people(
                d.session, d.grid_worker, kept_id, duplicate_id, expected_versions=versions, reason=reason
            )
        assert refused.value.code == code
    third = registered(d, id_number=None, name="王秀兰")
    with pytest.raises(ConflictError) as stale:
        people.merge_people(d.session, d.grid_worker, first.id, third.id, expected_versions=(1, 0), reason="重复")
    assert stale.value.code == "stale_version"
    with pytest.raises(InvalidInputError):  # no reason
        people.merge_people(d.session, d.grid_worker, first.id, third.id, expected_versions=(1, 1), reason="")
    assert first.merged_into_id is None and third.merged_into_id is None
