"""Recordings of a running platform: every message a recorder saw, in Parquet files a user can open with pandas,
DuckDB or pyarrow.

Layout of a recording directory::

    manifest.json                 parts per stream (rows, data-time span, bytes), what rotation dropped, and
                                  ``run``: what produced it (every agent's class and config), for a replay
    ticks/part-000001.parquet     symbol, ts, bid, ask, last, volume + the wire header (publisher, seq, sent_ns, origin_ns)
    bars/part-000001.parquet      topic, symbol, timeframe, price, partial, the BAR_DTYPE fields + the header
    events/part-000001.parquet    topic, type, publisher, seq, sent_ns, origin_ns, payload (the wire bytes), json

Parts are append-only: each is written to a temporary name and renamed, then the manifest is replaced atomically,
so a recorder killed at any moment leaves a readable recording. ``max_bytes`` bounds the directory: the oldest parts
are deleted first (and counted in the manifest).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from marketcore.schema import BAR_DTYPE, TICK_DTYPE

from tradehive.errors import TradehiveError

MANIFEST = "manifest.json"
HISTORY = "history"  # the publisher recorded for ticks from before the recording started
FORMAT_VERSION = 1
STREAMS = ("ticks", "bars", "events")

_HEADER = [
    ("publisher", pa.string()),
    ("seq", pa.int64()),
    ("sent_ns", pa.int64()),
    ("origin_ns", pa.int64()),
]


def _fields(dtype: np.dtype[Any]) -> list[tuple[str, pa.DataType]]:
    return [(n, pa.from_numpy_dtype(dtype[n])) for n in dtype.names or ()]


SCHEMAS: dict[str, pa.Schema] = {
    "ticks": pa.schema([("symbol", pa.string())] + _fields(TICK_DTYPE) + _HEADER),
    "bars": pa.schema(
        [("topic", pa.string()), ("symbol", pa.string()), ("timeframe", pa.string()), ("price", pa.string()),
         ("partial", pa.bool_())]
        + _fields(BAR_DTYPE) + _HEADER
    ),
    "events": pa.schema(
        [("topic", pa.string()), ("type", pa.string())] + _HEADER
        + [("payload", pa.binary()), ("json", pa.string())]
    ),
}  # fmt: skip


class RecordingError(TradehiveError):
    """A recording that cannot be read (missing manifest, unknown format version, unreadable part)."""


@dataclass(frozen=True)
class Header:
    publisher: str
    seq: int
    sent_ns: int
    origin_ns: int


@dataclass
class _Pending:
    columns: dict[str, list[Any]]  # per column, chunks: numpy arrays (one per message)
    rows: int = 0
    since: float = field(default_factory=time.monotonic)
    first_ns: int | None = None
    last_ns: int | None = None


def _empty(stream: str) -> _Pending:
    return _Pending({name: [] for name in SCHEMAS[stream].names})


class RecordingWriter:
    """Buffers what a recorder receives and writes it as Parquet parts (call :meth:`flush` on a timer)."""

    def __init__(
        self,
        root: str | Path,
        *,
        max_bytes: int = 2 << 30,
        part_rows: int = 250_000,
        part_seconds: float = 5.0,
    ) -> None:
        self.root = Path(root)
        self.max_bytes, self.part_rows, self.part_seconds = max_bytes, part_rows, part_seconds
        for s in STREAMS:
            (self.root / s).mkdir(parents=True, exist_ok=True)
        self.manifest: dict[str, Any] = _read_manifest(self.root) if (self.root / MANIFEST).exists() else {
            "format": FORMAT_VERSION, "created_ns": time.time_ns(), "parts": {s: [] for s in STREAMS},
            "dropped": {s: {"parts": 0, "rows": 0} for s in STREAMS},
        }  # fmt: skip
        self._next = 1 + max(
            (int(p["file"][5:11]) for s in STREAMS for p in self.manifest["parts"][s]), default=0
        )
        self._pending = {s: _empty(s) for s in STREAMS}

    def set_run(self, run: dict[str, Any]) -> None:
        """What produced this recording (``run`` in the manifest: the agents and their configs), written now."""
        self.manifest["run"] = run
        _write_json(self.root / MANIFEST, self.manifest)

    # -- adding ---------------------------------------------------------------------------------------------
    def add_ticks(self, symbol: str, ticks: npt.NDArray[Any], h: Header) -> None:
        if not ticks.size:
            return
        p = self._pending["ticks"]
        n = int(ticks.size)
        p.columns["symbol"].append(np.full(n, symbol, dtype=object))
        for name in TICK_DTYPE.names or ():
            p.columns[name].append(ticks[name].copy())  # the frame's buffer is reused after the handler
        self._header(p, h, n, int(ticks["ts"][0]), int(ticks["ts"][-1]))

    def add_bars(self, topic: str, bars: npt.NDArray[Any], h: Header) -> None:
        if not bars.size:
            return
        parts = topic.split(".")  # bar.<tf>.<SYMBOL>.<price>[.partial]
        p = self._pending["bars"]
        n = int(bars.size)
        for key, value in (("topic", topic), ("timeframe", parts[1] if len(parts) > 1 else ""),
                           ("symbol", parts[2] if len(parts) > 2 else ""), ("price", parts[3] if len(parts) > 3 else ""),
                           ("partial", topic.endswith(".partial"))):  # fmt: skip
            p.columns[key].append(np.full(n, value, dtype=object if isinstance(value, str) else np.bool_))
        for name in BAR_DTYPE.names or ():
            p.columns[name].append(bars[name].copy())
        self._header(p, h, n, int(bars["ts"][0]), int(bars["ts"][-1]))

    def add_event(
        self, topic: str, type_: str, payload: bytes, h: Header, json_text: str, data_ns: int
    ) -> None:
        p = self._pending["events"]
        for key, value in (("topic", topic), ("type", type_), ("payload", payload), ("json", json_text)):
            chunk = np.empty(1, dtype=object)
            chunk[0] = value
            p.columns[key].append(chunk)
        self._header(p, h, 1, data_ns, data_ns)

    @staticmethod
    def _header(p: _Pending, h: Header, n: int, first: int, last: int) -> None:
        p.columns["publisher"].append(np.full(n, h.publisher, dtype=object))
        for key in ("seq", "sent_ns", "origin_ns"):
            p.columns[key].append(np.full(n, getattr(h, key), dtype=np.int64))
        p.rows += n
        p.first_ns = first if p.first_ns is None else min(p.first_ns, first)
        p.last_ns = last if p.last_ns is None else max(p.last_ns, last)

    # -- writing --------------------------------------------------------------------------------------------
    def flush(self, force: bool = False) -> int:
        """Write the streams whose buffer is full or old enough (all of them with ``force``); returns parts."""
        written = 0
        now = time.monotonic()
        for s in STREAMS:
            p = self._pending[s]
            if p.rows and (force or p.rows >= self.part_rows or now - p.since >= self.part_seconds):
                self._write(s, p)
                self._pending[s] = _empty(s)
                written += 1
        if written:
            self._bound()
            _write_json(self.root / MANIFEST, self.manifest)
        return written

    def close(self) -> None:
        self.flush(force=True)

    def _write(self, stream: str, p: _Pending) -> None:
        name = f"part-{self._next:06d}.parquet"
        self._next += 1
        schema = SCHEMAS[stream]
        table = pa.table(
            {c: pa.array(np.concatenate(p.columns[c]), type=schema.field(c).type) for c in schema.names},
            schema=schema,
        )
        final = self.root / stream / name
        tmp = final.with_suffix(".tmp")
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, final)
        self.manifest["parts"][stream].append(
            {
                "file": name,
                "rows": p.rows,
                "first_ns": p.first_ns,
                "last_ns": p.last_ns,
                "bytes": final.stat().st_size,
            }
        )

    def _bound(self) -> None:
        parts = [(p["file"], s, p) for s in STREAMS for p in self.manifest["parts"][s]]
        total = sum(p["bytes"] for _, _, p in parts)
        for _name, s, part in sorted(parts):  # oldest first (part numbers grow over time)
            if total <= self.max_bytes:
                break
            (self.root / s / part["file"]).unlink(missing_ok=True)
            self.manifest["parts"][s].remove(part)
            self.manifest["dropped"][s]["parts"] += 1
            self.manifest["dropped"][s]["rows"] += part["rows"]
            total -= part["bytes"]


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    os.replace(tmp, path)


def _read_manifest(root: Path) -> dict[str, Any]:
    try:
        doc: dict[str, Any] = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise RecordingError(f"{root}: no readable {MANIFEST}: {exc}") from exc
    if doc.get("format") != FORMAT_VERSION:
        raise RecordingError(
            f"{root}: recording format {doc.get('format')!r}, this build reads {FORMAT_VERSION}"
        )
    return doc


class Recording:
    """Read a recording directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.manifest = _read_manifest(self.root)

    @property
    def run(self) -> dict[str, Any]:
        """What produced the recording (the agents and their configs), empty when it was not recorded."""
        return dict(self.manifest.get("run") or {})

    def table(self, stream: str) -> pa.Table:
        files = [self.root / stream / p["file"] for p in self.manifest["parts"][stream]]
        if not files:
            return SCHEMAS[stream].empty_table()
        try:
            return pa.concat_tables([pq.read_table(f, schema=SCHEMAS[stream]) for f in files])
        except (OSError, pa.ArrowException) as exc:
            raise RecordingError(f"{self.root}/{stream}: unreadable part: {exc}") from exc

    def ticks(self, history: bool = True) -> dict[str, npt.NDArray[Any]]:
        """Every recorded tick per symbol as TICK_DTYPE, in the order it was published; ``history=False``
        leaves out the ticks from before the recording started (fetched from the router, publisher "history")."""
        t = self.table("ticks")
        if not history:
            t = t.filter(pc.not_equal(t.column("publisher"), HISTORY))
        out: dict[str, npt.NDArray[Any]] = {}
        symbols = t.column("symbol").to_numpy(zero_copy_only=False)
        for sym in dict.fromkeys(symbols.tolist()):
            sel = symbols == sym
            arr = np.empty(int(sel.sum()), dtype=TICK_DTYPE)
            for name in TICK_DTYPE.names or ():
                arr[name] = t.column(name).to_numpy()[sel]
            out[str(sym)] = arr
        return out

    def events(self, topic_prefix: str = "") -> Iterator[tuple[str, str, bytes]]:
        """(topic, type, payload) of the recorded records in arrival order, optionally of one topic family."""
        t = self.table("events")
        for topic, type_, payload in zip(
            t.column("topic").to_pylist(),
            t.column("type").to_pylist(),
            t.column("payload").to_pylist(),
            strict=True,
        ):
            if topic.startswith(topic_prefix):
                yield topic, type_, payload

    def decoded(self, topic_prefix: str, decode: Callable[[bytes], Any]) -> list[Any]:
        return [decode(payload) for _, _, payload in self.events(topic_prefix)]
