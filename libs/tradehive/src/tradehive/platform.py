"""The platform's topology: which agents ``tradehive run`` starts, with which settings."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from agentcore.errors import ConfigError
from agentcore.launcher import AgentSpec, NameServerSpec, RestartPolicy, Topology

from tradehive.loader import resolve as resolve_strategy

if TYPE_CHECKING:
    from tradehive.config import PlatformConfig

FEEDER = "tradehive_feeder.agent:FeederAgent"
ROUTER = "tradehive_router.agent:RouterAgent"
BRAIN = "tradehive_brain.agent:BrainAgent"
TRADER = "tradehive_trader.agent:TraderAgent"
RECORDER = "tradehive_recorder.agent:RecorderAgent"
SIM_SYMBOLS = ["EURUSD", "GBPUSD", "BTCUSDT"]
# The simulator is a demo: on 1-minute bars the default EMA 12/26 needs ~30 min of live data between crosses (its
# first live order came after more than 5 minutes in 10 runs of `make run`), so the brains trade 1-second bars
# there unless told otherwise. Replays keep REPLAY_TIMEFRAME.
DEMO_TIMEFRAME = "1s"
DEMO_TREND_PARAMS = {"fast": 5, "slow": 13}  # with 1 s bars: the first entry within ~20 s of live data
REPLAY_TIMEFRAME = "1m"


def data_profile(data: str, fmt: str, tz: str) -> dict[str, Any]:
    """What the recorded data imply: symbols, format, empty-bar policy and the daily session start."""
    from marketcore.io import discover
    from marketcore.io.timezone import is_fixed

    found = discover(data, format=fmt, tz_offset=tz or None)  # type: ignore[arg-type]
    sets = [d for d in found if d.kind in ("quote_ticks", "trades")]
    if not sets:
        raise FileNotFoundError(f"no tick or trade files under {data}")
    kinds = {d.kind for d in sets}
    return {
        "symbols": sorted({d.symbol for d in sets}),
        "empty": "fill" if kinds == {"trades"} else "skip",  # Binance fills empty minutes, FXCM does not
        # a trading day starts at midnight in the data's zone (FXCM: 05:00 UTC); a zone with DST has no fixed
        # session start (the bar kernels need one): its days start at UTC midnight
        "session": sets[0].tz_offset if is_fixed(sets[0].tz_offset) else "UTC",
    }


def build_topology(
    *,
    data: str = "",
    fmt: str = "auto",
    tz: str = "",
    symbols: list[str] | None = None,
    speed: str = "1",
    timeframe: str = "",
    ns_host: str = "127.0.0.1",
    ns_port: int = 9090,
    log_level: str = "warning",
    trend_params: dict[str, Any] | None = None,
    strategy: str = "",
    trader_config: dict[str, Any] | None = None,
    security_dir: str = "",
    record_to: str = "",
    event_time: bool = True,
    flow_window_s: float = 600.0,
) -> Topology:
    """The platform's agents. ``event_time`` (default): brains act in data-time order and the paper venue sees
    every decision before any later quote, so results do not depend on speed; a replay also runs under flow
    control (the feeder waits for every consumer, never more than ``flow_window_s`` of data time ahead).
    ``record_to``: add a recorder writing every message to that directory. ``strategy``: the trading brain's
    strategy (a built-in name, ``module:Class`` or ``path/file.py:Class``; default ``ema_cross``)."""
    demo = not data and not timeframe  # the simulator with nothing chosen: the demo settings
    timeframe = timeframe or (REPLAY_TIMEFRAME if data else DEMO_TIMEFRAME)
    strategy = resolve_strategy(strategy) if strategy else "ema_cross"
    if demo and trend_params is None and strategy == "ema_cross":  # the demo periods are EMA parameters
        trend_params = dict(DEMO_TREND_PARAMS)
    if data:
        prof = data_profile(str(Path(data)), fmt, tz)
        syms = [s.upper() for s in symbols] if symbols else prof["symbols"]
        feeder = {
            "data_dir": str(Path(data).resolve()),
            "format": fmt,
            "tz": tz,
            "symbols": syms,
            "speed": speed,
        }
        router = {"empty": prof["empty"], "session": prof["session"]}
    else:
        syms = [s.upper() for s in symbols] if symbols else SIM_SYMBOLS
        feeder = {"symbols": syms, "speed": speed}
        router = {"clock_close": True, "initial_history_s": 6 * 3600.0}
    brain_common: dict[str, Any] = {"symbols": syms, "timeframe": timeframe, "price": "mid"}
    trader = dict(trader_config or {})
    recorder: dict[str, Any] = {"out_dir": str(Path(record_to).resolve())} if record_to else {}
    if event_time:
        _event_time(data, feeder, router, brain_common, trader, recorder, flow_window_s)
    agents = {
        **({"recorder": AgentSpec(cls=RECORDER, config=recorder)} if record_to else {}),
        "feeder": AgentSpec(cls=FEEDER, config=feeder),
        "router": AgentSpec(cls=ROUTER, config=router),
        "trader": AgentSpec(cls=TRADER, config=trader),
        "brain-regime": AgentSpec(cls=BRAIN, config={**brain_common, "strategy": "regime", "trader": ""}),
        "brain-trend": AgentSpec(
            cls=BRAIN,
            config={
                **brain_common,
                "strategy": strategy,
                "signals_from": ["brain-regime"],
                "params": trend_params or {},
            },
        ),  # fmt: skip
    }
    return Topology(
        agents=agents,
        nameserver=NameServerSpec(host=ns_host, port=ns_port),
        settings={
            "log_level": log_level,
            **({"security_dir": str(Path(security_dir).resolve())} if security_dir else {}),
        },
        restart=RestartPolicy(max_restarts=5, window_s=60.0, backoff_s=0.5),
        start_timeout=60.0,
    )


def _event_time(data: str, feeder: dict[str, Any], router: dict[str, Any], brains: dict[str, Any],
                trader: dict[str, Any], recorder: dict[str, Any], window_s: float) -> None:  # fmt: skip
    """Settings of event time (tradehive.eventtime) and, in a replay, of flow control (tradehive.flow)."""
    router["watermarks"] = True
    brains["sync"] = True
    trader.setdefault("sync_brains", ["brain-trend"])  # the brains that trade
    flow = {"flow_to": "feeder"}
    consumers = ["router", "brain-regime", "brain-trend", "trader"] + (["recorder"] if recorder else [])
    if not data:
        trader.setdefault("sync_max_hold_s", 1.0)  # live: a silent brain never freezes the venue
        if not recorder:
            return
        # a recorded live session: the stream starts once every agent listens (every brain's first bar, hence
        # its warm-up, is the stream's first; the recorder has it all), and the brains' client order ids carry
        # a session a replay reuses (tradehive.replay)
        brains.setdefault("session", f"live{time.time_ns() // 1_000_000_000 % 0xFFFFFF:06x}")
        # bars close on ticks only: a close by the wall clock depends on when the clock passed, and the ticks of a
        # stalled feed that arrive after it are refused by the bar builder (a replay cannot know either)
        router["clock_close"] = False
    feeder.update(flow_consumers=consumers, flow_window_s=window_s)
    router.update(flow)
    brains.update(flow)
    brains.setdefault("session", "replay")  # the same client order ids on every run
    trader.update(flow)
    if recorder:
        recorder.update(flow, wait_for=["router.market", "trader.events", "brain-regime.signals",
                                        "brain-trend.signals"])  # fmt: skip


def with_run_record(topo: Topology, **extra: Any) -> Topology:
    """Give the topology's recorder (if any) the description of the run it records: every other agent's class and
    final config (what ``tradehive replay`` starts again) plus ``extra`` facts; stored in the manifest."""
    rec = topo.agents.get("recorder")
    if rec is None:
        return topo
    from marketcore.execution import ExecutionSettings

    trader = topo.agents["trader"].config if "trader" in topo.agents else {}
    names = {f.name for f in msgspec.structs.fields(ExecutionSettings)}
    venue = {**msgspec.to_builtins(ExecutionSettings()), **{k: v for k, v in trader.items() if k in names}}
    venue = {
        k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in venue.items()
    }  # None: no limit
    feeder = topo.agents["feeder"].config if "feeder" in topo.agents else {}
    run = {
        "format": 1, "created_ns": time.time_ns(), **extra, "venue": venue,  # execution, risk, costs: all of them
        "sim_seed": feeder.get("sim_seed", 7) if not feeder.get("data_dir") else None,
        "agents": {n: {"class": a.cls, "config": msgspec.to_builtins(a.config)}
                   for n, a in topo.agents.items() if n != "recorder"},
    }  # fmt: skip
    agents = {**topo.agents, "recorder": msgspec.structs.replace(rec, config={**rec.config, "run": run})}
    return msgspec.structs.replace(topo, agents=agents)


def from_config(cfg: PlatformConfig) -> Topology:
    """The topology of a :class:`~tradehive.config.PlatformConfig`; its ``roles`` are merged over each agent's
    derived config (``params`` of a brain key by key)."""
    topo = build_topology(data=cfg.data, fmt=cfg.format, tz=cfg.tz, symbols=cfg.symbols or None, speed=cfg.speed,
                          timeframe=cfg.timeframe, ns_host=cfg.ns_host, ns_port=cfg.ns_port,
                          log_level=cfg.log_level, security_dir=cfg.security_dir,
                          strategy=cfg.strategy, record_to=cfg.record)  # fmt: skip
    unknown = sorted(set(cfg.roles) - set(topo.agents))
    if unknown:
        raise ConfigError(
            f"roles {', '.join(unknown)} are not agents of the platform ({', '.join(topo.agents)})"
        )
    agents = dict(topo.agents)
    for name, extra in cfg.roles.items():
        spec = agents[name]
        merged = {**spec.config, **extra}
        if "strategy" in extra and extra["strategy"] != spec.config.get("strategy"):
            # another strategy: the derived parameters were the old one's (the demo's EMA periods)
            merged["strategy"] = resolve_strategy(str(extra["strategy"]))
            merged["params"] = dict(extra.get("params") or {})
        elif isinstance(spec.config.get("params"), dict) and isinstance(extra.get("params"), dict):
            merged["params"] = {**spec.config["params"], **extra["params"]}
        agents[name] = msgspec.structs.replace(spec, config=merged)
    topo = msgspec.structs.replace(topo, agents=agents)
    return with_run_record(topo, live=not cfg.data, speed=cfg.speed, data=cfg.data)
