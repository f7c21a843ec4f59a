"""The platform's topology: which agents ``tradehive run`` starts, with which settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentcore.launcher import AgentSpec, NameServerSpec, RestartPolicy, Topology

FEEDER = "tradehive_feeder.agent:FeederAgent"
ROUTER = "tradehive_router.agent:RouterAgent"
BRAIN = "tradehive_brain.agent:BrainAgent"
TRADER = "tradehive_trader.agent:TraderAgent"
SIM_SYMBOLS = ["EURUSD", "GBPUSD", "BTCUSDT"]


def data_profile(data: str, fmt: str, tz: str) -> dict[str, Any]:
    """What the recorded data imply: symbols, format, empty-bar policy and the daily session start."""
    from marketcore.io import discover

    found = discover(data, format=fmt, tz_offset=tz or None)  # type: ignore[arg-type]
    sets = [d for d in found if d.kind in ("quote_ticks", "trades")]
    if not sets:
        raise FileNotFoundError(f"no tick or trade files under {data}")
    kinds = {d.kind for d in sets}
    return {
        "symbols": sorted({d.symbol for d in sets}),
        "empty": "fill" if kinds == {"trades"} else "skip",  # Binance fills empty minutes, FXCM does not
        "session": sets[0].tz_offset,  # a trading day starts at midnight in the data's zone (FXCM: 05:00 UTC)
    }


def build_topology(
    *,
    data: str = "",
    fmt: str = "auto",
    tz: str = "",
    symbols: list[str] | None = None,
    speed: str = "1",
    timeframe: str = "1m",
    ns_host: str = "127.0.0.1",
    ns_port: int = 9090,
    log_level: str = "warning",
    trend_params: dict[str, Any] | None = None,
    trader_config: dict[str, Any] | None = None,
    security_dir: str = "",
) -> Topology:
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
    brain_common = {"symbols": syms, "timeframe": timeframe, "price": "mid"}
    agents = {
        "feeder": AgentSpec(cls=FEEDER, config=feeder),
        "router": AgentSpec(cls=ROUTER, config=router),
        "trader": AgentSpec(cls=TRADER, config=trader_config or {}),
        "brain-regime": AgentSpec(cls=BRAIN, config={**brain_common, "strategy": "regime", "trader": ""}),
        "brain-trend": AgentSpec(
            cls=BRAIN,
            config={
                **brain_common,
                "strategy": "ema_cross",
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
