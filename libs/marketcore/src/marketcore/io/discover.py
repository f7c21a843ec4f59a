"""Finding recorded data sets (symbol, kind, files) under a directory, in Lean or freqtrade/Binance layout."""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np

from marketcore.errors import DataFormatError, DataSourceError
from marketcore.io._files import date_from_name, midnight_utc_ns
from marketcore.io.binance import read_binance_klines, read_binance_trades
from marketcore.io.lean import (
    LEAN_DEFAULT_TZ,
    read_lean_daily_bars,
    read_lean_quote_bars,
    read_lean_quote_ticks,
)
from marketcore.io.timezone import offset_ns, parse_tz
from marketcore.io.validate import OnError, SkipCounts

Format = Literal["auto", "lean", "binance"]
Kind = Literal["quote_ticks", "trades", "minute_quote_bars", "daily_quote_bars", "klines"]
TICK_KINDS: tuple[Kind, ...] = ("quote_ticks", "trades")
DAY_NS = 86_400 * 1_000_000_000

_LEAN_DAY_RE = re.compile(r"^\d{8}_quote\.zip$")
_LEAN_DAILY_RE = re.compile(r"^daily_([a-z0-9]+)\.zip$", re.IGNORECASE)
_FREQTRADE_RE = re.compile(r"(?:^|_)([A-Z0-9]+)_([A-Z0-9]+)-(trades|\d+[smhdwM])\.json(?:\.gz)?$")


@dataclasses.dataclass(frozen=True)
class DataFile:
    """One file of a data set; ``start_ns``/``end_ns`` bound its data when known from the name (Lean days)."""

    path: Path
    start_ns: int | None = None
    end_ns: int | None = None


@dataclasses.dataclass(frozen=True)
class DataSet:
    """The files of one symbol and kind, in time order, with the data clock of the vendor."""

    symbol: str
    format: Literal["lean", "binance"]
    kind: Kind
    files: tuple[DataFile, ...]
    tz_offset: str = "+00:00"
    timeframe: str | None = None  # "1m", "1d" for bar kinds

    @property
    def has_ticks(self) -> bool:
        return self.kind in TICK_KINDS

    def load(
        self, file: DataFile, *, on_error: OnError = "raise", counts: SkipCounts | None = None
    ) -> np.ndarray:
        """Ticks (TICK_DTYPE) of one file of a tick data set."""
        if self.kind == "quote_ticks":
            return read_lean_quote_ticks(file.path, self.tz_offset, on_error=on_error, counts=counts)
        if self.kind == "trades":
            return read_binance_trades(file.path, on_error=on_error, counts=counts)
        raise DataSourceError(f"{self.symbol} {self.kind}: not a tick data set")

    def load_bars(
        self, file: DataFile, *, on_error: OnError = "raise", counts: SkipCounts | None = None
    ) -> dict[str, np.ndarray]:
        """Bars of one file by price source: ``{"bid": ..., "ask": ...}`` or ``{"last": ...}``."""
        kw = {"on_error": on_error, "counts": counts}
        if self.kind == "minute_quote_bars":
            bid, ask = read_lean_quote_bars(file.path, self.tz_offset, **kw)  # type: ignore[arg-type]
        elif self.kind == "daily_quote_bars":
            bid, ask = read_lean_daily_bars(file.path, self.tz_offset, **kw)  # type: ignore[arg-type]
        elif self.kind == "klines":
            return {"last": read_binance_klines(file.path, **kw)}  # type: ignore[arg-type]
        else:
            raise DataSourceError(f"{self.symbol} {self.kind}: not a bar data set")
        return {"bid": bid, "ask": ask}


def discover(data_dir: str | Path, format: Format = "auto", tz_offset: str | None = None) -> list[DataSet]:
    """Every data set under ``data_dir`` (recursively), sorted by kind then symbol; symbols upper-cased.

    Lean data is read in ``tz_offset`` (an IANA zone or a fixed offset) if given, else in
    :data:`~marketcore.io.lean.LEAN_DEFAULT_TZ` (FXCM's fixed UTC-05:00); the zone is never guessed from a path.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise DataSourceError(f"data directory {root} does not exist")
    if format not in ("auto", "lean", "binance"):
        raise DataSourceError(f"unknown data format {format!r}: use auto, lean or binance")
    found: list[DataSet] = []
    if format in ("auto", "lean"):
        found += _discover_lean(root, tz_offset)
    if format in ("auto", "binance"):
        found += _discover_binance(root)
    return sorted(found, key=lambda d: (d.kind, d.symbol, d.format))


def _lean_tz(tz_offset: str | None) -> str:
    """The clock of Lean files: the one given, else :data:`~marketcore.io.lean.LEAN_DEFAULT_TZ` (never guessed
    from the path)."""
    tz = LEAN_DEFAULT_TZ if tz_offset is None else tz_offset
    parse_tz(tz)  # validate early
    return tz


def _discover_lean(root: Path, tz_offset: str | None) -> list[DataSet]:
    groups: dict[tuple[str, Kind, str], list[DataFile]] = defaultdict(list)
    tz = _lean_tz(tz_offset)
    for path in sorted(root.rglob("*.zip")):
        if _LEAN_DAY_RE.match(path.name) and path.parent.parent.name in ("tick", "minute"):
            kind: Kind = "quote_ticks" if path.parent.parent.name == "tick" else "minute_quote_bars"
            try:
                day = date_from_name(path)
                start = midnight_utc_ns(day, offset_ns(tz, day))
            except DataFormatError:
                continue
            groups[(path.parent.name.upper(), kind, tz)].append(DataFile(path, start, start + DAY_NS))
        elif m := _LEAN_DAILY_RE.match(path.name):
            groups[(m.group(1).upper(), "daily_quote_bars", tz)].append(DataFile(path))
    out = []
    for (sym, kind, tz), files in groups.items():
        tf = {"minute_quote_bars": "1m", "daily_quote_bars": "1d"}.get(kind)
        files.sort(key=_file_order)
        out.append(DataSet(sym, "lean", kind, tuple(files), tz, tf))
    return out


def _discover_binance(root: Path) -> list[DataSet]:
    out = []
    for path in sorted(p for p in root.rglob("*") if p.name.endswith((".json", ".json.gz"))):
        m = _FREQTRADE_RE.search(path.name)
        if m is None:
            continue
        sym = m.group(1) + m.group(2)
        kind: Kind = "trades" if m.group(3) == "trades" else "klines"
        tf = None if kind == "trades" else m.group(3)
        out.append(DataSet(sym, "binance", kind, (DataFile(path),), "+00:00", tf))
    return out


def _file_order(f: DataFile) -> tuple[int, str]:
    return (f.start_ns if f.start_ns is not None else -1, str(f.path))


def tick_datasets(
    datasets: list[DataSet], predicate: Callable[[DataSet], bool] | None = None
) -> list[DataSet]:
    """The tick-bearing data sets, optionally filtered."""
    return [d for d in datasets if d.has_ticks and (predicate is None or predicate(d))]


__all__ = ["DataFile", "DataSet", "discover", "tick_datasets", "Format", "Kind"]
