"""``tradehive backtest``: recorded data through the real agents (the same processes and messages as live), a
recorder beside them, then a report built from what the recorder saw.

The run is over when the feeder has released its last tick, the recorder has every tick the router published,
and the trader's and recorder's counts have stopped moving for ``settle_s``.
"""

from __future__ import annotations

import itertools
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import msgspec
import numpy as np

from tradehive.errors import TradehiveError
from tradehive.report import Fill, Stats, brain_of, build


class BacktestError(TradehiveError):
    """A backtest that could not run to the end (start-up failed, the replay stalled, nothing to report)."""


@dataclass(frozen=True)
class BacktestSpec:
    data: str
    out: Path
    fmt: str = "auto"
    tz: str = ""
    symbols: list[str] | None = None
    speed: str = "max"
    timeframe: str = "1m"
    strategy: str = ""  # module:Class or path/to/file.py:Class for the trading brain ("" = ema_cross)
    params: dict[str, Any] = field(default_factory=dict)
    trader: dict[str, Any] = field(
        default_factory=dict
    )  # trader settings (risk limits, venue latency, costs)
    # more trading brains beside brain-trend: name -> the strategy's parameters (the same strategy and gate)
    brains: dict[str, dict[str, Any]] = field(default_factory=dict)
    start: str = ""
    end: str = ""
    capital: float = 100_000.0
    ns_port: int = 0  # 0: a free port
    timeout_s: float = 1800.0
    start_timeout_s: float = 180.0  # every agent up (a loaded machine starts eight Python processes slowly)
    settle_s: float = 2.0
    log_level: str = "warning"


def parse_params(items: Sequence[str]) -> dict[str, Any]:
    """``k=v`` pairs; values parsed as JSON where they are (numbers, booleans, lists), else kept as text."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise BacktestError(f"--param wants key=value, got {item!r}")
        try:
            out[key.strip()] = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            out[key.strip()] = raw
    return out


def parse_grid(items: Sequence[str]) -> list[dict[str, Any]]:
    """``k=v1,v2`` per parameter → every combination (the cartesian product), in a stable order."""
    axes = [(k, v if isinstance(v, list) else [v]) for k, v in parse_params(
        [f"{i.partition('=')[0]}=[{i.partition('=')[2]}]" if "," in i else i for i in items]).items()]  # fmt: skip
    return [
        dict(zip([k for k, _ in axes], combo, strict=True))
        for combo in itertools.product(*[v for _, v in axes])
    ]


def check_strategy(ref: str, param_sets: Sequence[Mapping[str, Any]]) -> None:
    """Load a ``module:Class`` / ``file.py:Class`` strategy and check every parameter set against it before
    any agent starts (:class:`~tradehive.loader.StrategyLoadError`); the default ``ema_cross`` and other
    built-in names are checked by the brain."""
    from tradehive.loader import check_params, load_strategy_class

    if ":" not in ref:
        return
    cls = load_strategy_class(ref)
    for params in param_sets:
        check_params(cls, params)


def topology(spec: BacktestSpec, ns_port: int) -> Any:
    from tradehive.platform import BRAIN, TRADER, build_topology

    topo = build_topology(
        data=spec.data, fmt=spec.fmt, tz=spec.tz, symbols=spec.symbols, speed=spec.speed, timeframe=spec.timeframe,
        ns_port=ns_port, log_level=spec.log_level, trend_params=spec.params, record_to=str(spec.out / "recording"),
        strategy=spec.strategy, trader_config=dict(spec.trader),
    )  # fmt: skip
    agents = dict(topo.agents)
    feeder = agents["feeder"]
    if spec.start or spec.end:
        agents["feeder"] = msgspec.structs.replace(
            feeder, config={**feeder.config, "start": spec.start, "end": spec.end}
        )
    if spec.brains:
        _add_brains(agents, spec.brains)
    for (
        name,
        agent,
    ) in agents.items():  # on a loaded machine peers appear slowly: wait as long as the start-up
        if agent.cls in (TRADER, BRAIN):
            agents[name] = msgspec.structs.replace(
                agent, config={"connect_timeout_s": spec.start_timeout_s, **agent.config}
            )
    return msgspec.structs.replace(topo, agents=agents, start_timeout=spec.start_timeout_s)


def _add_brains(agents: dict[str, Any], brains: Mapping[str, dict[str, Any]]) -> None:
    """Trading brains like brain-trend (its strategy and gate) with their own parameters; the trader waits for
    their decisions too (event time) and the feeder for their progress (flow control)."""
    from agentcore.launcher import AgentSpec

    from tradehive.platform import BRAIN

    trend = agents["brain-trend"]
    for name, params in brains.items():
        if name in agents:
            raise BacktestError(f"brain {name!r}: the platform has an agent of that name already")
        agents[name] = AgentSpec(cls=BRAIN, config={**trend.config, "params": dict(params)})

    def more(spec: Any, key: str, values: list[str]) -> Any:
        if key not in spec.config:
            return spec
        return msgspec.structs.replace(spec, config={**spec.config, key: [*spec.config[key], *values]})

    agents["trader"] = more(agents["trader"], "sync_brains", list(brains))
    agents["feeder"] = more(agents["feeder"], "flow_consumers", list(brains))
    if "recorder" in agents:
        agents["recorder"] = more(agents["recorder"], "wait_for", [f"{b}.signals" for b in brains])


def _status(ns_host: str, ns_port: int, name: str) -> dict[str, Any]:
    import Pyro5.api
    from agentcore import naming

    try:
        ns = naming.locate(ns_host, ns_port)
        with Pyro5.api.Proxy(ns.lookup(name)) as proxy:
            proxy._pyroTimeout = 5.0
            return dict(proxy.status())
    except Exception:  # noqa: BLE001 - an agent restarting shows as unknown for a moment
        return {}


def run(spec: BacktestSpec, progress: Callable[[str], None] = lambda _l: None) -> list[Stats]:
    """Run one backtest to the end and write its report directory; returns the statistics."""
    from agentcore import naming
    from agentcore.launcher import Launcher
    from agentcore.testing import free_port

    spec.out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(
        spec.out / "recording", ignore_errors=True
    )  # a recorder appends: each backtest starts afresh
    port = spec.ns_port or free_port()
    launcher = Launcher(topology(spec, port), live=False)
    naming.configure_pyro(5.0)
    t0 = time.monotonic()
    try:
        launcher.start_all()
        progress(f"agents up in {time.monotonic() - t0:.1f}s; replaying {spec.data} at speed {spec.speed}")
        _wait_done(spec, port, t0, launcher, progress)
    finally:
        launcher.stop_all()
    wall = time.monotonic() - t0
    progress(f"replay done in {wall:.1f}s; building the report")
    return report_from_recording(spec.out / "recording", spec.out, capital=spec.capital, meta={
        "data": spec.data, "speed": spec.speed, "strategy": spec.strategy or "ema_cross (default)",
        "params": ", ".join(f"{k}={v}" for k, v in spec.params.items()) or "(defaults)", "timeframe": spec.timeframe,
        "run wall time": f"{wall:.1f} s",
    })  # fmt: skip


class RunBounds(Protocol):
    """How long a run may take and how long its counts must stand still to be over (a backtest, a replay)."""

    @property
    def timeout_s(self) -> float: ...

    @property
    def settle_s(self) -> float: ...


def _wait_done(spec: RunBounds, port: int, t0: float, launcher: Any, progress: Callable[[str], None]) -> None:
    """Done when the feeder released everything and every consumer reported it handled it (flow control), and
    then the trader's and recorder's counts stood still for ``settle_s`` (orders decided on the last bars)."""
    last: tuple[Any, ...] | None = None
    stable_since = 0.0
    while True:
        if time.monotonic() - t0 > spec.timeout_s:
            raise BacktestError(f"the replay did not finish within {spec.timeout_s:.0f}s")
        launcher.check()
        time.sleep(0.2)
        f = _status("127.0.0.1", port, "feeder")
        if not (f.get("flow") or {}).get("drained"):
            continue
        t, rec = _status("127.0.0.1", port, "trader"), _status("127.0.0.1", port, "recorder")
        state = (rec.get("ticks"), t.get("fills"), (t.get("orders") or {}).get("total"), t.get("intents"))
        if state != last:
            last, stable_since = state, time.monotonic()
            continue
        if time.monotonic() - stable_since >= spec.settle_s:
            progress(f"drained: {f.get('published_ticks', 0):,} ticks replayed, {rec.get('ticks', 0):,} recorded, "
                     f"{t.get('fills', 0)} fills")  # fmt: skip
            return


def fills_from_recording(root: str | Path) -> tuple[list[Fill], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The trader's fills (attributed to brains by their client order ids) and mid prices per symbol."""
    from marketcore.instruments import InstrumentRegistry
    from marketcore.orders import OrderFilled
    from marketcore.orders import decode as decode_order

    from tradehive.recording import Recording

    rec = Recording(root)
    ticks = rec.ticks(history=False)
    registry = InstrumentRegistry.default()
    raw = [ev for ev in rec.decoded("exec.", decode_order) if isinstance(ev, OrderFilled)]
    fills = [
        Fill(ts_ns=ev.ts_ns, brain=brain_of(ev.client_order_id), symbol=ev.symbol, side=ev.side.sign,
             qty=ev.qty, price=ev.price, fee=ev.fee, client_order_id=ev.client_order_id,
             currency=registry.get(ev.symbol).quote_currency if ev.symbol in registry else "")
        for ev in raw
    ]  # fmt: skip
    marks = {}
    for sym, t in ticks.items():
        t = t[np.argsort(t["ts"], kind="stable")]
        mid = np.where(np.isfinite(t["bid"]) & np.isfinite(t["ask"]), (t["bid"] + t["ask"]) / 2.0, t["last"])
        marks[sym] = (t["ts"].astype(np.int64), mid.astype(np.float64))
    return fills, marks


_RANK = {"submit_order": 0, "order_rejected": 1, "order_accepted": 2, "order_replaced": 3, "order_filled": 4,
         "order_cancel_rejected": 5, "order_cancelled": 6, "order_expired": 7}  # fmt: skip


def order_log(root: str | Path) -> list[str]:
    """The trader's decisions and executions as canonical JSON lines: every order asked for (accepted or refused)
    and every venue event, wall-clock stamps left out, sorted by (data time, client order id, event kind). The
    same data and configuration must give the same lines at any replay speed: that is what replay diffs."""
    from marketcore.orders import SubmitOrder
    from marketcore.orders import decode as decode_order

    from tradehive.recording import Recording

    rows: list[tuple[int, str, int, str]] = []
    for _topic, _type, payload in Recording(root).events("exec."):
        try:
            ev = decode_order(payload)
        except Exception:  # noqa: BLE001 - not an order record (cannot happen on exec.*, counted by the recorder)
            continue
        tag = str(ev.__struct_config__.tag)
        if isinstance(ev, SubmitOrder):
            data_ts = ev.data_ts_ns
            ev = msgspec.structs.replace(ev, ts_ns=0)  # the send time is wall clock: not part of the decision
        else:
            data_ts = int(getattr(ev, "ts_ns", 0))
        rows.append((data_ts, str(ev.client_order_id), _RANK.get(tag, 9), msgspec.json.encode(ev).decode()))
    rows.sort()
    return [r[3] for r in rows]


def write_orders(root: str | Path, out: Path) -> int:
    """``orders.csv`` (every order asked for, with its outcome) and ``order_log.jsonl`` (see :func:`order_log`)."""
    import csv

    lines = order_log(root)
    (out / "order_log.jsonl").write_text("".join(line + "\n" for line in lines))
    outcome: dict[str, str] = {}
    orders = []
    for line in lines:
        rec = msgspec.json.decode(line)
        cid = rec.get("client_order_id", "")
        if rec["msg"] == "submit_order":
            orders.append(rec)
        elif rec["msg"] == "order_rejected":
            outcome[cid] = "rejected: " + rec.get("reason", "")
            if not any(o["client_order_id"] == cid for o in orders):
                orders.append(
                    {"client_order_id": cid, "symbol": rec.get("symbol", ""), "data_ts_ns": rec["ts_ns"]}
                )
        elif rec["msg"] in ("order_filled", "order_cancelled", "order_expired"):
            outcome[cid] = rec["msg"].removeprefix("order_")
    cols = ["data_ts_ns", "client_order_id", "brain", "symbol", "side", "qty", "type", "limit_price", "stop_price",
            "stop_loss", "take_profit", "outcome"]  # fmt: skip
    with (out / "orders.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for o in orders:
            cid = o["client_order_id"]
            w.writerow([o.get("data_ts_ns", ""), cid, brain_of(cid)] + [o.get(c, "") for c in cols[3:-1]]
                       + [outcome.get(cid, "working")])  # fmt: skip
    return len(orders)


def report_from_recording(
    root: str | Path, out: str | Path, *, capital: float = 100_000.0, meta: Mapping[str, str] | None = None
) -> list[Stats]:
    fills, marks = fills_from_recording(root)
    if not marks:
        raise BacktestError(f"{root}: no ticks were recorded: nothing to report on")
    stats = build(fills, marks, out, capital=capital, meta=meta)
    write_orders(root, Path(out))
    return stats
