"""The machine a benchmark ran on, recorded next to its numbers (shared by every bench/*/run.py)."""

from __future__ import annotations

import os
import platform
from typing import Any


def machine() -> dict[str, Any]:
    return {
        "cpu": _proc_value("/proc/cpuinfo", "model name") or "unknown",
        "cores": os.cpu_count(),
        "ram_gib": round(int((_proc_value("/proc/meminfo", "MemTotal") or "0 kB").split()[0]) / 1024**2, 1),
        "platform": platform.platform(),
        "load_avg_at_start": os.getloadavg(),
    }


def _proc_value(path: str, key: str) -> str | None:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    return None
