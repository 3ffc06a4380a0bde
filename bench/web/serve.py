"""The real civicgrid app under uvicorn, for bench/web/run.py, with a thin ASGI wrapper that reports each
request's SQL: ``X-Bench-SQL-Count`` (statements) and ``X-Bench-SQL-Ms`` (time inside the driver's execute) as
response headers, and with ``X-Bench-Capture: <file>`` on the request, the statements and their parameters
pickled to that file (run.py replays them without the web stack).

    .venv/bin/python bench/web/serve.py --database-url sqlite:////tmp/cases.db --var-dir /tmp/var --port 8765
"""

from __future__ import annotations

import argparse
import contextvars
import pickle
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import Engine, event

from civicgrid.app import create_app
from civicgrid.db import make_engine
from civicgrid.settings import Settings

CAPTURE_HEADER = b"x-bench-capture"


@dataclass
class Trace:
    statements: int = 0
    seconds: float = 0.0
    capture: list[tuple[str, Any]] | None = None
    started: list[float] = field(default_factory=list)


TRACE: contextvars.ContextVar[Trace | None] = contextvars.ContextVar("bench_trace", default=None)


def watch(engine: Engine) -> None:
    """Count and time every statement of the request it runs for (the context travels into FastAPI's threads)."""

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        trace = TRACE.get()
        if trace is not None:
            trace.statements += 1
            if trace.capture is not None:
                trace.capture.append((statement, parameters))
            trace.started.append(time.perf_counter())

    def after(*_: Any) -> None:
        trace = TRACE.get()
        if trace is not None and trace.started:
            trace.seconds += time.perf_counter() - trace.started.pop()

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)


class SqlHeaders:
    """ASGI wrapper: a fresh trace per HTTP request, reported in the response headers."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        capture_to = dict(scope["headers"]).get(CAPTURE_HEADER)
        trace = Trace(capture=[] if capture_to else None)
        token = TRACE.set(trace)

        async def reporting(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-bench-sql-count", str(trace.statements).encode()))
                headers.append((b"x-bench-sql-ms", f"{trace.seconds * 1000:.3f}".encode()))
                message = {**message, "headers": headers}
                if capture_to:
                    Path(capture_to.decode()).write_bytes(pickle.dumps(trace.capture))
            await send(message)

        try:
            await self.app(scope, receive, reporting)
        finally:
            TRACE.reset(token)


def build(database_url: str, var_dir: Path) -> Any:
    settings = Settings(var_dir=var_dir, database_url=database_url, scheduler_interval_seconds=0)
    engine = make_engine(settings.effective_database_url)
    watch(engine)
    return SqlHeaders(create_app(settings, engine))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--var-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    app = build(args.database_url, args.var_dir)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
