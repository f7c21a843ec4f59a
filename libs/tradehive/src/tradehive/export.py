"""Writing bars (the router's structured array: ts, open, high, low, close, volume, count) as CSV, JSON or
Parquet (pyarrow) for ``tradehive history``."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

COLUMNS = ("time", "ts_ns", "open", "high", "low", "close", "volume", "count")


def _iso(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns / 1e9, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def rows(bars: np.ndarray) -> list[dict[str, Any]]:
    """One dict per bar with :data:`COLUMNS` (floats exact: ``repr`` round-trips)."""
    return [
        {"time": _iso(int(b["ts"])), "ts_ns": int(b["ts"]), "open": float(b["open"]), "high": float(b["high"]),
         "low": float(b["low"]), "close": float(b["close"]), "volume": float(b["volume"]), "count": int(b["count"])}
        for b in bars
    ]  # fmt: skip


def write_csv(out: Any, bars: np.ndarray) -> None:
    w = csv.writer(out)
    w.writerow(COLUMNS)
    for r in rows(bars):
        w.writerow([r["time"], r["ts_ns"], *(repr(r[k]) for k in ("open", "high", "low", "close", "volume")),
                    r["count"]])  # fmt: skip


def write_parquet(path: str, bars: np.ndarray) -> None:
    """Columns as typed arrays (time a UTC nanosecond timestamp), straight from the NumPy fields."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # an optional dependency: the images do not carry it
        from agentcore.errors import ConfigError

        raise ConfigError("Parquet output needs pyarrow: pip install 'tradehive[parquet]'") from exc

    ts = np.ascontiguousarray(bars["ts"], dtype=np.int64)
    table = pa.table({
        "time": pa.array(ts, type=pa.timestamp("ns", tz="UTC")),
        "ts_ns": pa.array(ts),
        **{k: pa.array(np.ascontiguousarray(bars[k], dtype=np.float64)) for k in ("open", "high", "low", "close", "volume")},
        "count": pa.array(np.ascontiguousarray(bars["count"], dtype=np.int64)),
    })  # fmt: skip
    pq.write_table(table, path)


def write(bars: np.ndarray, fmt: Literal["csv", "json", "parquet"], out: str) -> None:
    """Write to ``out`` (``"-"``: stdout, not for parquet)."""
    if fmt == "parquet":
        write_parquet(out, bars)
        return
    stream = sys.stdout if out == "-" else open(out, "w", newline="")  # noqa: SIM115
    try:
        if fmt == "csv":
            write_csv(stream, bars)
        else:
            json.dump(rows(bars), stream)
            stream.write("\n")
    finally:
        if stream is not sys.stdout:
            stream.close()
