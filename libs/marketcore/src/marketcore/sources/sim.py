"""A deterministic, seeded market simulator: the embedded default feed when no recorded data is present.

Each symbol's time line is cut into fixed blocks; block ``k`` is generated from its own random stream
(``SeedSequence([seed, crc32(symbol), k])``) and the model state at the end of block ``k-1``. So whatever
order calls come in, the ticks of a given time are always the same: :meth:`MarketSimulator.history` equals
what :meth:`MarketSimulator.next_batch` streamed (or will stream).

Model per symbol: Poisson arrivals at ``tick_rate_hz``; GARCH(1,1) log-mid returns (volatility clustering)
with normal innovations, scaled to an annual volatility; spread around a typical value, wider when volatility
is high; bid/ask on the tick grid; a fraction of ticks moves one side only; optional trades (last/volume).
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from marketcore.errors import DataSourceError
from marketcore.schema import NS_PER_SECOND, TICK_DTYPE
from marketcore.sources._simkernel import quote_path

SECONDS_PER_YEAR = 365.25 * 86_400
TICKS_PER_BLOCK = 4096


@dataclasses.dataclass(frozen=True)
class SymbolSpec:
    """How one simulated symbol behaves; prices in quote currency."""

    price: float
    tick_size: float
    spread: float  # typical bid/ask spread (price units)
    volatility: float = 0.10  # annualised volatility of log mid
    tick_rate_hz: float | None = None  # None: the simulator's rate
    garch_alpha: float = 0.08
    garch_beta: float = 0.90
    one_side_prob: float = 0.3  # share of ticks where only the bid or only the ask moves
    trade_prob: float = 0.0  # share of ticks that also carry a trade (last, volume)
    mean_trade_size: float = 1.0

    def __post_init__(self) -> None:
        checks = {
            "price > 0": self.price > 0,
            "tick_size > 0": self.tick_size > 0,
            "spread >= 0": self.spread >= 0,
            "volatility > 0": self.volatility > 0,
            "tick_rate_hz > 0": self.tick_rate_hz is None or self.tick_rate_hz > 0,
            "garch alpha, beta >= 0 and alpha + beta < 1": self.garch_alpha >= 0
            and self.garch_beta >= 0
            and self.garch_alpha + self.garch_beta < 1,
            "0 <= one_side_prob <= 1": 0 <= self.one_side_prob <= 1,
            "0 <= trade_prob <= 1": 0 <= self.trade_prob <= 1,
            "mean_trade_size > 0": self.mean_trade_size > 0,
        }
        failed = [k for k, ok in checks.items() if not ok]
        if failed:
            raise DataSourceError(f"bad SymbolSpec {self}: need {', '.join(failed)}")


DEFAULT_SYMBOLS: Mapping[str, SymbolSpec] = {
    "EURUSD": SymbolSpec(price=1.10, tick_size=1e-5, spread=1.5e-5, volatility=0.07),
    "GBPUSD": SymbolSpec(price=1.27, tick_size=1e-5, spread=2e-5, volatility=0.08),
    "BTCUSDT": SymbolSpec(price=60_000.0, tick_size=0.01, spread=0.5, volatility=0.6, trade_prob=0.5),
}


class _SymbolModel:
    """Block generator and checkpoints of one symbol."""

    def __init__(
        self, name: str, spec: SymbolSpec, seed: int, rate_hz: float, origin_ns: int,
        recent_states: int = 64, max_checkpoints: int = 256,
    ) -> None:  # fmt: skip
        self.name = name
        self.spec = spec
        self.seed = seed
        self.rate_hz = rate_hz
        self.origin_ns = origin_ns
        self.block_ns = max(1, math.ceil(TICKS_PER_BLOCK / rate_hz)) * NS_PER_SECOND
        self.mean_var = spec.volatility**2 / (SECONDS_PER_YEAR * rate_hz)
        self.omega = self.mean_var * (1.0 - spec.garch_alpha - spec.garch_beta)
        inv = 1.0 / spec.tick_size
        self.inv_tick = round(inv) if abs(inv - round(inv)) < 1e-6 * inv else None
        self.spread_ticks = spec.spread / spec.tick_size
        mid = spec.price / spec.tick_size
        bid0 = math.floor(mid - self.spread_ticks / 2 + 0.5)
        s0 = max(1.0, math.floor(self.spread_ticks + 0.5))
        self.key = zlib.crc32(name.encode())
        # Model states at block starts, bounded (a stream of 10k ticks/s adds ~1.5 blocks/s for ever): the
        # newest one (the frontier the stream continues from), the last ``recent_states`` used, and checkpoints
        # every ``_spacing`` blocks, thinned (spacing doubled) when more than ``max_checkpoints``. An older state
        # is regenerated from the checkpoint before it: the same random streams, so the same ticks.
        state0 = np.array([math.log(spec.price), self.mean_var, 0.0, bid0, bid0 + s0])
        self.frontier: tuple[int, np.ndarray] = (0, state0)
        self.recent: OrderedDict[int, np.ndarray] = OrderedDict({0: state0})
        self.checkpoints: dict[int, np.ndarray] = {0: state0}
        self.recent_states, self.max_checkpoints = recent_states, max_checkpoints
        self._spacing = 16

    def states_held(self) -> int:
        """Model states kept (bounded: at most ``recent_states + max_checkpoints + 1``)."""
        return len(self.recent) + len(self.checkpoints) + 1

    def block(self, k: int) -> np.ndarray:
        """Ticks of block ``k`` (from the state at its start, regenerated from a checkpoint if need be)."""
        ticks, end = self._run(k, self._state(k))
        self._remember(k + 1, end)
        return ticks

    def _state(self, k: int) -> np.ndarray:
        if k == self.frontier[0]:
            return self.frontier[1]
        state = self.recent.get(k)
        if state is None:
            state = self.checkpoints.get(k)
        if state is not None:
            return state
        known = [j for j in (self.frontier[0], *self.recent, *self.checkpoints) if j < k]
        j = max(known)  # block 0's state is always a checkpoint
        state = self._state(j)
        for i in range(j, k):  # blocks never needed (or forgotten), generated for their end state
            state = self._run(i, state)[1]
            self._remember(i + 1, state)
        return state

    def _remember(self, k: int, state: np.ndarray) -> None:
        if k > self.frontier[0]:
            self.frontier = (k, state)
        self.recent[k] = state
        self.recent.move_to_end(k)
        while len(self.recent) > self.recent_states:
            self.recent.popitem(last=False)
        if k % self._spacing == 0 and k not in self.checkpoints:
            self.checkpoints[k] = state
            if len(self.checkpoints) > self.max_checkpoints:
                self._spacing *= 2
                self.checkpoints = {j: v for j, v in self.checkpoints.items() if j % self._spacing == 0}

    def _run(self, k: int, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Block ``k``'s ticks from the state at its start, and the state at its end."""
        spec = self.spec
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, self.key, k])))
        n = int(rng.poisson(self.rate_hz * self.block_ns / NS_PER_SECOND))
        ts = np.sort(rng.integers(0, self.block_ns, n)) + (self.origin_ns + k * self.block_ns)
        z = rng.standard_normal(n)
        noise = rng.standard_normal(n)
        u = rng.random(n)
        side = np.where(u < spec.one_side_prob / 2, 1, np.where(u < spec.one_side_prob, 2, 0)).astype(np.int8)
        bid, ask, end = quote_path(
            z, noise, side, state, self.omega, spec.garch_alpha, spec.garch_beta,
            self.mean_var, self.spread_ticks, spec.tick_size,
        )  # fmt: skip
        out = np.empty(n, dtype=TICK_DTYPE)
        out["ts"] = ts
        out["bid"] = self._price(bid)
        out["ask"] = self._price(ask)
        trade = rng.random(n) < spec.trade_prob
        buy = rng.random(n) < 0.5
        size = rng.exponential(spec.mean_trade_size, n)
        out["last"] = np.where(trade, np.where(buy, out["ask"], out["bid"]), np.nan)
        out["volume"] = np.where(trade, size, 0.0)
        return out, end

    def _price(self, ticks: np.ndarray) -> np.ndarray:
        if self.inv_tick is not None:
            return ticks / self.inv_tick  # exactly the decimal price, like a parsed quote
        return ticks * self.spec.tick_size


class MarketSimulator:
    """Seeded tick generator for several symbols, driven by data time (e.g. the wall clock)."""

    def __init__(
        self,
        symbols: Mapping[str, SymbolSpec | Mapping[str, Any]] | None = None,
        seed: int = 0,
        tick_rate_hz: float = 10.0,
        start_ns: int = 0,
        *,
        origin_ns: int | None = None,
        cache_blocks: int = 64,
        recent_states: int = 64,
        max_checkpoints: int = 256,
    ) -> None:
        """``start_ns``: the first streamed time; ``origin_ns`` (default ``start_ns``): where the simulated
        history begins (set it earlier to have history before the stream starts). Memory stays bounded however
        long it streams: ``cache_blocks`` blocks of ticks, and per symbol ``recent_states`` block-start states
        plus at most ``max_checkpoints`` checkpoints (older history is regenerated from them, identical)."""
        if tick_rate_hz <= 0 or recent_states < 1 or max_checkpoints < 2:
            raise DataSourceError("need tick_rate_hz > 0, recent_states >= 1 and max_checkpoints >= 2")
        specs = {k.upper(): _spec(k, v) for k, v in (symbols or DEFAULT_SYMBOLS).items()}
        if not specs:
            raise DataSourceError("the simulator needs at least one symbol")
        origin = start_ns if origin_ns is None else origin_ns
        if origin > start_ns:
            raise DataSourceError("origin_ns must not be after start_ns")
        self.symbols: tuple[str, ...] = tuple(specs)
        self.seed = seed
        self.origin_ns = origin
        self.start_ns = start_ns
        self._models = {
            s: _SymbolModel(
                s, spec, seed, spec.tick_rate_hz or tick_rate_hz, origin, recent_states, max_checkpoints
            )  # fmt: skip
            for s, spec in specs.items()
        }
        self._emitted = start_ns - 1  # every tick with ts <= this has been streamed
        self._cache: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._cache_size = cache_blocks

    @property
    def emitted_until_ns(self) -> int:
        return self._emitted

    def next_batch(self, until_ns: int) -> list[tuple[str, np.ndarray]]:
        """Every tick not streamed yet with ``ts <= until_ns``, per symbol (symbols without ticks omitted)."""
        if until_ns <= self._emitted:
            return []
        lo, self._emitted = self._emitted + 1, int(until_ns)
        out = []
        for s in self.symbols:
            ticks = self._range(s, lo, self._emitted + 1)
            if ticks.size:
                out.append((s, ticks))
        return out

    def history(self, symbol: str, start_ns: int, end_ns: int, limit: int | None = None) -> np.ndarray:
        """Ticks with ``start_ns <= ts < end_ns``: identical to what is (or will be) streamed."""
        if symbol.upper() not in self._models:
            raise DataSourceError(f"unknown symbol {symbol!r}; simulated: {list(self.symbols)}")
        out = self._range(symbol.upper(), start_ns, end_ns)
        return out[-limit:] if limit is not None and out.size > limit else out

    def _range(self, symbol: str, lo: int, hi: int) -> np.ndarray:
        m = self._models[symbol]
        lo = max(lo, self.origin_ns)
        if hi <= lo:
            return np.empty(0, dtype=TICK_DTYPE)
        k0 = (lo - self.origin_ns) // m.block_ns
        k1 = (hi - 1 - self.origin_ns) // m.block_ns
        parts = []
        for k in range(k0, k1 + 1):
            ticks = self._block(symbol, m, k)
            a, b = np.searchsorted(ticks["ts"], [lo, hi], side="left")
            parts.append(ticks[a:b])
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _block(self, symbol: str, m: _SymbolModel, k: int) -> np.ndarray:
        key = (symbol, k)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        ticks = m.block(k)
        self._cache[key] = ticks
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return ticks


def _spec(name: str, value: SymbolSpec | Mapping[str, Any]) -> SymbolSpec:
    if isinstance(value, SymbolSpec):
        return value
    try:
        return SymbolSpec(**value)
    except TypeError as e:
        raise DataSourceError(f"bad simulator settings for {name}: {e}") from e
