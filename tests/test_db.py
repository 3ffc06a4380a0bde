"""The database layer: migrations, UTC timestamps, SQLite pragmas, naming convention, optimistic versioning."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from civicgrid import counters, migrate
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.errors import ConflictError, InvalidInputError, NotMigratedError
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.models import GridNode
from civicgrid.models import metadata
from civicgrid.notify.models import OutboxMessage


def test_migrations_reach_head_and_match_the_models(engine: Engine) -> None:
    assert migrate.current_revision(engine) == migrate.head_revision()
    migrate.ensure_current(engine)
    tables = set(inspect(engine).get_table_names())
    assert set(metadata.tables) <= tables


def test_the_migrations_create_exactly_the_models_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_an_unmigrated_database_is_refused_with_the_command_to_run(tmp_path: object) -> None:
    engine = make_engine("sqlite://")
    with pytest.raises(NotMigratedError) as caught:
        migrate.ensure_current(engine)
    assert "civicgrid db upgrade" in caught.value.message


def test_constraints_follow_the_naming_convention(engine: Engine) -> None:
    inspector = inspect(engine)
    unique_names = {c["name"] for c in inspector.get_unique_constraints("grid_node")}
    assert "uq_grid_node_code" in unique_names
    foreign_names = {c["name"] for c in inspector.get_foreign_keys("grid_node")}
    assert "fk_grid_node_parent_id_grid_node" in foreign_names


def test_timestamps_come_back_as_utc(session: Session) -> None:
    beijing = dt.timezone(dt.timedelta(hours=8))
    node = GridNode(code="370215", name="即墨区", level=GridLevel.DISTRICT.value, depth=0)
    node.created_at = dt.datetime(2025, 10, 1, 8, 0, tzinfo=beijing)
    session.add(node)
    session.flush()
    session.expire_all()
    loaded = session.execute(select(GridNode).where(GridNode.code == "370215")).scalar_one()
    assert loaded.created_at == dt.datetime(2025, 10, 1, 0, 0, tzinfo=dt.UTC)
    assert loaded.created_at.tzinfo is not None


def test_naive_datetimes_are_refused(session: Session) -> None:
    node = GridNode(code="370215", name="即墨区", level="district", depth=0, created_at=dt.datetime(2025, 1, 1))
    session.add(node)
    with pytest.raises(Exception, match="naive datetime"):
        session.flush()


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_foreign_keys_are_enforced(session: Session) -> None:
    session.add(GridNode(code="370215002", name="潮海街道", level="street", depth=1, parent_id=987654))
    with pytest.raises(Exception, match=r"(?i)foreign key"):
        session.flush()


def test_check_constraints_refuse_unknown_levels(session: Session) -> None:
    session.add(GridNode(code="370215", name="即墨区", level="galaxy", depth=0))
    with pytest.raises(Exception, match=r"(?i)check"):
        session.flush()


def test_a_lost_race_is_a_conflict_and_the_winner_is_kept(engine: Engine) -> None:
    readers = make_session_factory(engine)
    with transaction(make_session_factory(engine, write=True)) as setup:
        setup.add(GridNode(code="110105", name="朝阳区", level="district", depth=0))
    try:
        with pytest.raises(ConflictError), transaction(readers) as bob:  # noqa: PT012 - the transaction must fail
            node_b = bob.execute(select(GridNode).where(GridNode.code == "110105")).scalar_one()
            with transaction(readers) as alice:
                node_a = alice.execute(select(GridNode).where(GridNode.code == "110105")).scalar_one()
                node_a.name = "朝阳区（甲）"
            node_b.name = "朝阳区（乙）"
            bob.flush()
        with readers() as check:
            assert check.execute(select(GridNode.name).where(GridNode.code == "110105")).scalar_one() == "朝阳区（甲）"
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM grid_node WHERE code = '110105'"))


def test_a_stale_form_is_refused_by_the_version_check(engine: Engine) -> None:
    writers = make_session_factory(engine, write=True)
    with transaction(writers) as setup:
        setup.add(GridNode(code="110106", name="丰台区", level="district", depth=0))
    try:
        with writers() as early:  # a page read the node at version 1 ...
            seen = early.execute(select(GridNode).where(GridNode.code == "110106")).scalar_one()
        with transaction(writers) as other:  # ... someone else saved it ...
            other.execute(select(GridNode).where(GridNode.code == "110106")).scalar_one().name = "丰台"
        # ... and the old form is posted: the whole transaction must fail.
        with pytest.raises(ConflictError), transaction(writers) as late:  # noqa: PT012
            stale = late.merge(seen)
            stale.name = "丰台区（旧表单）"
        with writers() as check:
            assert check.execute(select(GridNode.name).where(GridNode.code == "110106")).scalar_one() == "丰台"
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM grid_node WHERE code = '110106'"))


def test_counters_increment_and_tokens_never_repeat(session: Session) -> None:
    assert counters.current(session, "t") == 0
    assert counters.increment(session, "t") == 1
    assert counters.increment(session, "t") == 2
    tokens = {counters.renew_token(session, "tok") for _ in range(20)}
    assert len(tokens) == 20
    assert counters.current(session, "tok") in tokens


def test_a_unique_violation_surfaces_as_a_conflict_not_a_crash(engine: Engine) -> None:
    writers = make_session_factory(engine, write=True)
    try:
        with pytest.raises(ConflictError) as caught, transaction(writers) as session:  # noqa: PT012
            session.add(GridNode(code="110107", name="石景山区", level="district", depth=0))
            session.flush()
            session.add(GridNode(code="110107", name="石景山区（重复）", level="district", depth=0))
            session.flush()
        assert caught.value.code == "integrity_conflict"
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM grid_node WHERE code = '110107'"))


def test_sqlite_writers_that_read_first_queue_instead_of_failing(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/queue.db")
    migrate.upgrade(engine)
    writers = make_session_factory(engine, write=True)
    with transaction(writers) as setup:
        setup.add(GridNode(code="110108", name="海淀区", level="district", depth=0))
    first_has_read = threading.Event()
    errors: list[Exception] = []

    def rename(suffix: str, hold: float) -> None:
        try:
            with transaction(writers) as session:
                node = session.execute(select(GridNode).where(GridNode.code == "110108")).scalar_one()
                first_has_read.set()
                time.sleep(hold)
                node.name = node.name + suffix
        except Exception as error:  # collected for the assertion below
            errors.append(error)

    first = threading.Thread(target=rename, args=("甲", 0.5))
    first.start()
    first_has_read.wait(5)
    rename("乙", 0)  # starts while the first holds its transaction: must wait, then read the committed name
    first.join()
    assert errors == []
    with make_session_factory(engine)() as check:
        assert check.execute(select(GridNode.name).where(GridNode.code == "110108")).scalar_one() == "海淀区甲乙"
    engine.dispose()


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"subject": "a\x00b"}, "unstorable_text", "notify_outbox.subject"),
        ({"body": "a\ud800b"}, "unstorable_text", "notify_outbox.body"),
        ({"payload": {"case": ["ok", {"note": "\x00"}]}}, "unstorable_text", "notify_outbox.payload.case[1].note"),
        ({"subject": "长" * 201}, "text_too_long", "notify_outbox.subject"),
    ],
)
def test_text_no_column_holds_is_refused_before_the_database_on_both_backends(
    session: Session, changes: dict[str, object], code: str, field: str
) -> None:
    """The last line for every writer: the same refusal on SQLite (which would store it) and PostgreSQL (which
    would fail), whatever a service forgot to check."""
    values: dict[str, object] = {"kind": "assigned", "channel": "log", "recipient": "HC-CG", "subject": "新案件"}
    message = OutboxMessage(**(values | changes))
    session.add(message)
    with pytest.raises(InvalidInputError) as caught:
        session.flush()
    assert caught.value.code == code and caught.value.detail["field"] == field
    session.expunge(message)
    good = OutboxMessage(**values)
    session.add(good)
    session.flush()
    good.subject = "长" * 201  # a change to a stored row is checked too
    with pytest.raises(InvalidInputError):
        session.flush()
