"""Cases and the registry records they are about, on both backends: a link is an event in the case's history
(a person named masked), twice is refused, unlinking needs a reason; each side lists the other only as far as the
actor may see it."""

from __future__ import annotations

import pytest
from tests.cases.conftest import IN_OTHER_STREET, District
from tests.cases.test_flow import report
from tests.registry.test_objects import at_unit
from tests.registry.test_people import registered

from civicgrid.cases.queries import history
from civicgrid.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from civicgrid.registry import links, objects
from civicgrid.registry.placing import Where


def test_a_case_names_a_building_and_a_person_and_its_history_says_so(district: District) -> None:
    d = district
    case = report(d)
    building = objects.register(d.session, d.grid_worker, "building", {"name": "泰和花园3号楼"}, at_unit())
    person = registered(d)
    links.link(d.session, d.grid_worker, case.number, "building", building.id)
    links.link(d.session, d.dispatcher, case.number, "person", person.id)
    subjects = links.subjects_of(d.session, d.grid_worker, case)
    assert [(s.kind_label, s.name, s.href) for s in subjects] == [
        ("楼宇", "泰和花园3号楼", f"/registry/building/{building.id}"),
        ("人员", "王**", f"/registry/people/{person.id}"),
    ]
    notes = [e.note for e in history(d.session, d.grid_worker, case.number) if e.action == "link_subject"]
    assert notes == ["关联楼宇：泰和花园3号楼", "关联人员：王**"]  # never the full name or the ID number
    (listed,) = links.cases_of(d.session, d.grid_worker, "building", building.id)
    assert listed.number == case.number and listed.title == case.title
    with pytest.raises(ConflictError) as twice:
        links.link(d.session, d.grid_worker, case.number, "building", building.id)
    assert twice.value.code == "already_linked"


def test_unlinking_needs_a_reason_and_is_recorded(district: District) -> None:
    d = district
    case = report(d)
    building = objects.register(d.session, d.grid_worker, "building", {"name": "错楼"}, at_unit())
    links.link(d.session, d.grid_worker, case.number, "building", building.id)
    with pytest.raises(InvalidInputError):
        links.unlink(d.session, d.grid_worker, case.number, "building", building.id, reason=" ")
    links.unlink(d.session, d.grid_worker, case.number, "building", building.id, reason="关联错了")
    assert links.subjects_of(d.session, d.grid_worker, case) == []
    last = history(d.session, d.grid_worker, case.number)[-1]
    assert last.action == "unlink_subject" and "关联错了" in last.note
    with pytest.raises(NotFoundError) as again:
        links.unlink(d.session, d.grid_worker, case.number, "building", building.id, reason="再次")
    assert again.value.code == "not_linked"


def test_links_stay_within_what_the_actor_may_see(district: District) -> None:
    d = district
    case = report(d)
    lon, lat = IN_OTHER_STREET
    theirs = objects.register(d.session, d.system, "enterprise", {"name": "东城公司"}, Where(lon, lat, "wgs84"))
    with pytest.raises(NotFoundError):  # not in her grids
        links.link(d.session, d.grid_worker, case.number, "enterprise", theirs.id)
    links.link(d.session, d.system, case.number, "enterprise", theirs.id)
    assert links.subjects_of(d.session, d.grid_worker, case) == []  # linked, but not hers to see
    assert links.subjects_of(d.session, d.hotline, case) == []  # no registry access at all
    with pytest.raises(PermissionDeniedError):  # a leader reads, but does not shape cases
        links.link(d.session, d.leader, case.number, "enterprise", theirs.id)
    with pytest.raises(NotFoundError):
        links.cases_of(d.session, d.grid_worker, "enterprise", theirs.id)
    with pytest.raises(InvalidInputError):
        links.link(d.session, d.grid_worker, case.number, "spaceship", 1)
