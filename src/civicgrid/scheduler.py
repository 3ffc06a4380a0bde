"""The periodic work `civicgrid serve` does in the background: refresh 临期/超期, bring the KPI roll-up up to date
and deliver notifications.

The same work runs from cron or a systemd timer as `civicgrid tick` and `civicgrid notify deliver`; inside serve
it is a daemon thread, one run at a time, each run in its own transactions. A failing run is logged and the next
one tries again — the scheduler never takes the web server down.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy import Engine

from civicgrid.cases import held_uploads
from civicgrid.cases.tick import TickReport, tick
from civicgrid.db import make_session_factory, transaction
from civicgrid.kpi.rollup import BuildReport, refresh
from civicgrid.notify.adapters import senders_from_settings
from civicgrid.notify.deliver import DeliveryReport, deliver_due
from civicgrid.org.sessions import purge_expired
from civicgrid.settings import Settings

logger = logging.getLogger("civicgrid.scheduler")


@dataclass(frozen=True)
class RunReport:
    tick: TickReport
    rollup: BuildReport
    delivery: DeliveryReport


def refresh_flags(engine: Engine, settings: Settings) -> TickReport:
    """The tick alone: 临期/超期 and pending deadlines brought up to date (expired sign-ins and held photos purged)."""
    with transaction(make_session_factory(engine, write=True)) as session:
        report = tick(session, settings=settings)
        purge_expired(session, settings)
    held_uploads.purge_expired(settings)  # photos kept for forms nobody sent again
    return report


def run_once(engine: Engine, settings: Settings) -> RunReport:
    writers = make_session_factory(engine, write=True)
    tick_report = refresh_flags(engine, settings)
    with transaction(writers) as session:  # its own transaction: the tick's flag updates are committed first
        rollup_report = refresh(session)
    delivery = deliver_due(writers, senders_from_settings(settings), max_attempts=settings.notify_max_attempts)
    return RunReport(tick_report, rollup_report, delivery)


class Scheduler:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bring the derived flags up to date before the first page is served — a server that was down for a
        night must not show yesterday's 超期 counts on one screen and today's on another — then run every
        interval in the background (the roll-up and delivery of the first run right away)."""
        if self.settings.scheduler_interval_seconds <= 0 or self._thread is not None:
            return
        try:
            refresh_flags(self.engine, self.settings)
        except Exception:  # a busy or broken database must not keep the server from starting
            logger.exception("启动时刷新临期/超期失败，将在后台重试")
        self._thread = threading.Thread(target=self._loop, name="civicgrid-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        wait = 0.0  # the first run at once: the roll-up and the deliveries that waited while the server was down
        while not self._stop.wait(wait):
            wait = self.settings.scheduler_interval_seconds
            try:
                report = run_once(self.engine, self.settings)
            except Exception:  # logged with its traceback; the next run tries again
                logger.exception("定时任务运行失败")
                continue
            if report.tick.became_overdue or report.tick.became_due_soon or report.delivery.dead:
                logger.info("定时任务：%s；%s", report.tick, report.delivery)
