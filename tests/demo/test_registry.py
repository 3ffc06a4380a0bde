"""The generated registry must read back like records the services made, on both backends: valid and unique ID
numbers and credit codes, each record inside the grid it is filed under, households of plausible size, one
creation entry each in the history, figures the statistics reproduce — and the services keep working on top."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from tests.conftest import rolled_back_session

from civicgrid.demo.district import MAIN_STREET, build_demo
from civicgrid.demo.registry import RegistryOptions, RegistrySummary, generate_registry
from civicgrid.errors import ConflictError
from civicgrid.grid.index import grid_index
from civicgrid.org.actor import Actor
from civicgrid.registry import objects, people, stats
from civicgrid.registry.identifiers import check_credit_code, check_resident_id
from civicgrid.registry.models import Enterprise, House, Person, RegistryChange
from civicgrid.registry.placing import Where
from civicgrid.registry.protect import Protector
from civicgrid.settings import Settings

RESIDENTS = 2500
PROTECTOR = Protector(b"d" * 32)


@dataclass
class Generated:
    session: Session
    summary: RegistrySummary
    system: Actor


@pytest.fixture(scope="module")
def generated(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    settings = Settings(var_dir=tmp_path_factory.mktemp("var"), database_url="sqlite://")
    with rolled_back_session(engine) as session:
        build_demo(session, settings=settings)
        summary = generate_registry(session, PROTECTOR, RegistryOptions(residents=RESIDENTS))
        yield Generated(session, summary, Actor.system("测试"))


def test_people_have_valid_unique_identifiers_matching_their_records(generated: Generated) -> None:
    rows = generated.session.execute(select(Person)).scalars().all()
    assert 0.8 * RESIDENTS <= len(rows) <= 1.2 * RESIDENTS
    numbers = [PROTECTOR.open(p.id_number_sealed or "", "person.id_number") for p in rows]
    assert len(set(numbers)) == len(numbers)
    for person, number in zip(rows, numbers, strict=True):
        checked = check_resident_id(number, today=dt.date(2100, 1, 1))
        assert (checked.birth_date, checked.male) == (person.birth_date, person.male)
        assert person.id_number_index == PROTECTOR.blind_index(number, "person.id_number")
    floating = [n for p, n in zip(rows, numbers, strict=True) if p.residence == "floating"]
    assert floating and sum(not n.startswith("3702") for n in floating) / len(floating) > 0.9


def test_households_are_of_plausible_size_and_tags_follow_the_people(generated: Generated) -> None:
    rows = generated.session.execute(select(Person)).scalars().all()
    sizes = Counter(p.household_no for p in rows)
    assert 2.2 <= len(rows) / len(sizes) <= 3.1 and max(sizes.values()) <= 5
    alone = [p for p in rows if "独居老人" in p.tags]
    assert alone and all(sizes[p.household_no] == 1 for p in alone)
    assert all(p.house_id is not None for p in rows)


def test_every_record_lies_in_the_grid_it_is_filed_under(generated: Generated) -> None:
    session = generated.session
    for model in (Person, House, Enterprise):
        lons, lats, codes = map(
            np.array, zip(*session.execute(select(model.lon, model.lat, model.scope_code)), strict=True)
        )
        index = grid_index(session)
        found = index.locate_many_wgs84(lons, lats, with_nearest=False)
        assert found.node_ids.tolist() == [index.ids_by_code[code] for code in codes]
        assert all(code.startswith(MAIN_STREET) for code in codes)


def test_credit_codes_are_valid_and_enterprises_fill_office_buildings(generated: Generated) -> None:
    rows = generated.session.execute(select(Enterprise)).scalars().all()
    assert all(check_credit_code(e.credit_code or "") == e.credit_code for e in rows)
    assert len({e.credit_code for e in rows}) == len(rows)
    assert sum(e.building_id is not None for e in rows) > len(rows) / 3
    assert all(e.land_mu is None or e.industry in ("C", "G") for e in rows)


def test_each_record_has_its_creation_in_the_history(generated: Generated) -> None:
    session, summary = generated.session, generated.summary
    created = dict(
        session.execute(
            select(RegistryChange.object_type, func.count())
            .where(RegistryChange.action == "create")
            .group_by(RegistryChange.object_type)
        ).all()
    )
    for key, number in summary.counts.items():
        if key != "household":
            assert created[key] == number
    person = session.execute(select(Person).limit(1)).scalar_one()
    (change,) = people.history(session, generated.system, person.id)
    assert change.fields["name"] == [None, person.name]
    assert change.fields["id_number"] == [None, person.id_number_sealed]  # sealed in the history too


def test_the_statistics_reproduce_the_summary(generated: Generated) -> None:
    view = stats.overview(generated.session, generated.system, MAIN_STREET)
    counts = generated.summary.counts
    assert view.total["person"] == counts["person"] and view.total["household"] == counts["household"]
    assert view.total["house"] == counts["house"] and view.total["enterprise"] == counts["enterprise"]
    assert view.total["river"] == counts["river"] == 5
    assert len(view.rows) >= 12


def test_the_services_work_on_top_of_the_generated_registry(generated: Generated) -> None:
    session, system = generated.session, generated.system
    house = session.execute(select(House).limit(1)).scalar_one()
    lon, lat = house.lon, house.lat
    assert lon is not None and lat is not None
    values = {"name": "重复", "address": house.address, "room": house.room}
    with pytest.raises(ConflictError):  # the same address and room is already registered
        objects.register(session, system, "house", values, Where(lon, lat, "wgs84"))
    added = objects.register(session, system, "enterprise", {"name": "新公司"}, Where(lon, lat, "wgs84"))
    assert added.id > session.execute(select(func.max(Enterprise.id)).where(Enterprise.id != added.id)).scalar_one()


def test_the_demo_campaign_is_under_way_with_answers_from_the_registry(
    generated: Generated, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from civicgrid.campaigns import progress as campaign_progress
    from civicgrid.campaigns.models import Campaign, CampaignSubmission, CampaignTarget
    from civicgrid.demo.campaign import CampaignOptions, start_campaign

    session = generated.session
    settings = Settings(var_dir=tmp_path_factory.mktemp("campaign"), database_url="sqlite://")
    line = start_campaign(session, settings, CampaignOptions(visits=120, hazard_rate=0.05))
    campaign = session.scalars(select(Campaign)).one()
    houses_in_street = session.execute(
        select(func.count()).select_from(House).where(House.scope_code.startswith(MAIN_STREET))
    ).scalar_one()
    assert campaign.target_count == houses_in_street and f"目标{houses_in_street}户" in line
    view = campaign_progress.progress(session, generated.system, campaign)
    assert 40 <= view.done <= 400 and view.hazards == view.cases >= 1
    visited = session.execute(
        select(CampaignTarget.object_id, CampaignSubmission.answers)
        .join(CampaignSubmission, CampaignSubmission.target_id == CampaignTarget.id)
        .where(CampaignSubmission.outcome == "visited")
    ).all()
    for house_id, answers in visited[:30]:  # 实际居住人数 as the registry has it
        living = session.execute(
            select(func.count()).where(Person.house_id == house_id, Person.moved_out_at.is_(None))
        ).scalar_one()
        assert answers["residents"] == living
    assert view.people == sum(answers["residents"] for _, answers in visited)
    assert campaign_progress.summary_sentence(view).startswith("截至")


def test_the_demo_grid_workers_own_grid_has_households(generated: Generated) -> None:
    from civicgrid.grid.models import GridAssignment, GridNode
    from civicgrid.org.models import User

    session = generated.session
    her_grid = session.execute(
        select(GridNode.code)
        .join(GridAssignment, GridAssignment.grid_node_id == GridNode.id)
        .join(User, User.id == GridAssignment.user_id)
        .where(User.username == "gridworker")
    ).scalar_one()
    houses = session.execute(select(func.count()).select_from(House).where(House.scope_code == her_grid)).scalar_one()
    assert houses > 0  # what she signs in to in the demo: households to visit


def test_every_building_has_its_standard_address(generated: Generated) -> None:
    from civicgrid.registry.kinds import clean_door_no, clean_road
    from civicgrid.registry.models import Building, StandardAddress

    session = generated.session
    addresses = session.scalars(select(StandardAddress)).all()
    buildings = session.execute(select(func.count()).select_from(Building)).scalar_one()
    assert 0.9 * buildings <= len(addresses) <= buildings
    for address in addresses[:200]:  # each part already in its standard form
        assert clean_road(address.road) == address.road and clean_door_no(address.door_no) == address.door_no
        assert address.name == address.road + address.door_no + (address.building or "")
