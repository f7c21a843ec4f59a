"""``tradehive replay``: a recorded session's ticks through the real agents again, with the configuration it was
recorded with (the manifest's ``run``), then its decisions compared with the recorded ones.

The comparison (:func:`diff_logs`) is over the canonical order logs (:func:`tradehive.backtest.order_log`): the same
orders (client id, side, quantity, prices, type), the same fills (price, quantity) and so the same final positions.
Both logs are cut at the recorded session's horizon per symbol: the data time up to which the recorded trader had
heard every trading brain's decision (its last ``wm.<SYMBOL>``; else the last recorded tick), since a session
stopped with Ctrl-C ends raggedly (a brain or the trader stopped a moment before the recorder).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from tradehive.backtest import _wait_done, order_log
from tradehive.errors import TradehiveError
from tradehive.recording import Recording

ORDER_FIELDS = ("side", "qty", "type", "limit_price", "stop_price", "stop_loss", "take_profit", "symbol")
FILL_FIELDS = ("price", "qty", "ts_ns", "side", "symbol")
TRADING = "brain-trend"  # the brain --param k=v applies to (brain.k=v names another)


class ReplayError(TradehiveError):
    """A recording that cannot be replayed (no run description in its manifest, no ticks)."""


@dataclass(frozen=True)
class ReplaySpec:
    recording: Path
    out: Path
    speed: str = "max"
    params: dict[str, Any] = field(default_factory=dict)  # k=v: the trading brain; brain.k=v: that brain
    ns_port: int = 0
    timeout_s: float = 900.0
    settle_s: float = 2.0
    log_level: str = "warning"


# -- the topology -----------------------------------------------------------------------------------------------
def _brain_params(params: Mapping[str, Any], brains: Sequence[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, value in params.items():
        brain, dot, name = key.rpartition(".")
        brain = brain if dot else TRADING
        if brain not in brains:
            raise ReplayError(f"--param {key}: no brain {brain!r} in the recording ({', '.join(brains)})")
        out.setdefault(brain, {})[name] = value
    return out


def topology(spec: ReplaySpec, ns_port: int) -> Any:
    """The recorded agents, configured as recorded, fed by the ``recording`` tick source under flow control, with a
    recorder writing the replay to ``<out>/recording``."""
    from agentcore.launcher import AgentSpec, NameServerSpec, RestartPolicy, Topology

    from tradehive.platform import RECORDER

    run = Recording(spec.recording).run
    agents_in = run.get("agents") or {}
    if not agents_in or "feeder" not in agents_in or "trader" not in agents_in:
        raise ReplayError(f"{spec.recording}: the manifest does not say what was run (record with tradehive run "
                          "--record DIR)")  # fmt: skip
    brains = [n for n, a in agents_in.items() if a["class"].endswith(":BrainAgent")]
    overrides = _brain_params(spec.params, brains)
    consumers = [n for n in agents_in if n != "feeder"] + ["recorder"]
    flow = {"flow_to": "feeder"}
    agents: dict[str, AgentSpec] = {}
    for name, a in agents_in.items():
        cfg = dict(a["config"])
        if name == "feeder":
            keep = {k: cfg[k] for k in ("symbols", "batch_max") if k in cfg}
            cfg = {**keep, "source": "recording", "options": {"recording": str(spec.recording.resolve())},
                   "speed": spec.speed, "flow_consumers": consumers, "flow_window_s": 600.0}  # fmt: skip
        elif name == "router":
            cfg.update(flow, clock_close=False, watermarks=True)  # bars close on recorded ticks only
        elif name == "trader":
            # wait for the brains (data time only), and hold the venue where the recorded one stood at each order
            venue = {k: v for k, v in (run.get("venue") or {}).items()
                     if v is not None and not (isinstance(v, float | str) and str(v).lower() in ("inf", "-inf", "nan"))
                     }  # unbounded (recorded as null): the default  # fmt: skip
            cfg = {**venue, **cfg}  # the recorded venue, risk and costs, not today's defaults
            cfg.update(flow, sync_max_hold_s=0.0, replay_positions=venue_positions(spec.recording))
        elif name in brains:
            cfg.update(flow, sync=True)
            cfg.setdefault("session", "replay")
            if name in overrides:
                cfg["params"] = {**cfg.get("params", {}), **overrides[name]}
        else:
            cfg.update(flow)
        agents[name] = AgentSpec(cls=a["class"], config=cfg)
    signals = [f"{b}.signals" for b in brains]
    recorder = {"out_dir": str((spec.out / "recording").resolve()), **flow,
                "wait_for": ["router.market", "trader.events", *signals],
                "run": {**run, "replay_of": str(spec.recording), "params": spec.params,
                        "agents": {n: {"class": s.cls, "config": msgspec.to_builtins(s.config)}
                                   for n, s in agents.items()}}}  # fmt: skip
    agents = {"recorder": AgentSpec(cls=RECORDER, config=recorder), **agents}
    return Topology(agents=agents, nameserver=NameServerSpec(host="127.0.0.1", port=ns_port),
                    settings={"log_level": spec.log_level},
                    restart=RestartPolicy(max_restarts=0, window_s=60.0, backoff_s=0.5), start_timeout=60.0)  # fmt: skip


def venue_positions(root: str | Path) -> dict[str, tuple[str, int, int]]:
    """Per recorded order (client id): its symbol, where the recorded venue stood when the order reached it (the data
    time of the last quote it had processed: the trader's ``at.*`` records) and the order's decision time."""
    from tradehive import protocol as p

    decided: dict[str, int] = {}
    for line in order_log(root):
        rec = msgspec.json.decode(line)
        if rec.get("msg") == "submit_order":
            decided[rec["client_order_id"]] = int(rec.get("data_ts_ns") or 0)
        elif rec.get("msg") == "order_rejected":
            decided.setdefault(rec["client_order_id"], int(rec.get("ts_ns") or 0))
    out: dict[str, tuple[str, int, int]] = {}
    for _topic, _type, payload in Recording(root).events(p.AT_PREFIX):
        try:
            at = p.decode(payload)
        except p.ProtocolError:
            continue
        if isinstance(at, p.QuotePosition) and at.client_order_id in decided:
            out[at.client_order_id] = (at.symbol, at.ts_ns, decided[at.client_order_id])
    return out


def run(spec: ReplaySpec, progress: Callable[[str], None] = lambda _l: None) -> Path:
    """Replay the recording through the real agents; returns the replay's recording directory."""
    from agentcore import naming
    from agentcore.launcher import Launcher
    from agentcore.testing import free_port

    spec.out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(spec.out / "recording", ignore_errors=True)
    port = spec.ns_port or free_port()
    launcher = Launcher(topology(spec, port), live=False)
    naming.configure_pyro(5.0)
    t0 = time.monotonic()
    try:
        launcher.start_all()
        progress(
            f"agents up in {time.monotonic() - t0:.1f}s; replaying {spec.recording} at speed {spec.speed}"
        )
        _wait_done(
            spec, port, t0, launcher, progress
        )  # a stall raises BacktestError (a run failure, not usage)
    finally:
        launcher.stop_all()
    progress(f"replay done in {time.monotonic() - t0:.1f}s")
    return spec.out / "recording"


# -- the comparison ---------------------------------------------------------------------------------------------
def horizon(root: str | Path) -> dict[str, int]:
    """Per symbol, the data time up to which the recorded session is complete: the trader's last watermark
    (every trading brain decided up to it, every fill up to it was out), else the last recorded tick."""
    rec = Recording(root)
    out: dict[str, int] = {}
    for topic, type_, payload in rec.events("wm."):
        if type_ == "watermark":
            try:
                out[topic[3:]] = max(out.get(topic[3:], 0), int(payload))
            except ValueError:
                continue
    if not out:
        for sym, ticks in rec.ticks(history=False).items():
            if ticks.size:
                out[sym] = int(ticks["ts"].max())
    return out


@dataclass(frozen=True)
class Difference:
    kind: str  # order | fill | refusal | event
    client_order_id: str
    data_ts_ns: int
    recorded: dict[str, Any] | None
    replayed: dict[str, Any] | None

    @property
    def brain(self) -> str:
        from tradehive.report import brain_of

        return brain_of(self.client_order_id)

    def fields(self) -> list[tuple[str, Any, Any]]:
        """(field, recorded, replayed) of the fields that differ (all of them when one side is missing)."""
        a, b = self.recorded or {}, self.replayed or {}
        keys = [
            k
            for k in dict.fromkeys([*a, *b])
            if k != "msg" and not (self.recorded and self.replayed and k in VENUE_IDS)
        ]
        return [(k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)]


@dataclass(frozen=True)
class Diff:
    differences: list[Difference]
    recorded_events: int
    replayed_events: int
    positions: dict[
        str, tuple[float, float]
    ]  # symbol -> (recorded, replayed) net quantity, where they differ

    @property
    def clean(self) -> bool:
        return not self.differences and not self.positions

    @property
    def first(self) -> Difference | None:
        return self.differences[0] if self.differences else None


VENUE_IDS = (
    "venue_order_id",
    "fill_id",
)  # the venue's own numbering (across symbols, in arrival order): not compared


def _decision(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k not in VENUE_IDS}


def _key(rec: dict[str, Any]) -> tuple[str, str]:
    return str(rec.get("client_order_id", "")), str(rec.get("msg", ""))


def _data_ts(rec: dict[str, Any]) -> int:
    return int(rec.get("data_ts_ns") or rec.get("ts_ns") or 0)


def _kind(msg: str) -> str:
    return {"submit_order": "order", "order_filled": "fill", "order_rejected": "refusal"}.get(msg, "event")


def _positions(recs: Sequence[dict[str, Any]]) -> dict[str, float]:
    pos: dict[str, float] = {}
    for r in recs:
        if r.get("msg") == "order_filled":
            sign = 1.0 if str(r.get("side", "")).lower() == "buy" else -1.0
            pos[r["symbol"]] = pos.get(r["symbol"], 0.0) + sign * float(r["qty"])
    return pos


def cut(lines: Sequence[str], limits: Mapping[str, int] | None) -> list[dict[str, Any]]:
    """The order-log records (decoded) whose data time is within ``limits[symbol]`` (all without limits)."""
    out = []
    for line in lines:
        rec = msgspec.json.decode(line)
        lim = None if limits is None else limits.get(str(rec.get("symbol", "")))
        if lim is not None and _data_ts(rec) > lim:
            continue
        out.append(rec)
    return out


def diff_logs(
    recorded: Sequence[str], replayed: Sequence[str], limits: Mapping[str, int] | None = None
) -> Diff:
    """Compare two order logs (canonical JSON lines, :func:`~tradehive.backtest.order_log`), each cut at ``limits``
    (per symbol, a data time). Records pair by (client order id, event kind) in log order; the differences are in
    data-time order, the first one first."""
    a, b = cut(recorded, limits), cut(replayed, limits)
    index_b: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(b):
        index_b.setdefault(_key(r), []).append(i)
    used: set[int] = set()
    found: list[tuple[int, int, Difference]] = []
    for i, r in enumerate(a):
        cands = index_b.get(_key(r), [])
        j = next((c for c in cands if c not in used), None)
        other = None if j is None else b[j]
        if j is not None:
            used.add(j)
        if other is None or _decision(other) != _decision(r):
            # where the two runs first part: the earlier of the two decisions (the same order may come at
            # another data time in the replay)
            at = _data_ts(r) if other is None else min(_data_ts(r), _data_ts(other))
            d = Difference(_kind(str(r.get("msg"))), _key(r)[0], at, r, other)
            found.append((d.data_ts_ns, i, d))
    for j, r in enumerate(b):
        if j not in used:
            found.append(
                (
                    _data_ts(r),
                    len(a) + j,
                    Difference(_kind(str(r.get("msg"))), _key(r)[0], _data_ts(r), None, r),
                )
            )
    found.sort(key=lambda t: (t[0], t[1]))
    pa, pb = _positions(a), _positions(b)
    pos = {
        s: (pa.get(s, 0.0), pb.get(s, 0.0))
        for s in sorted(set(pa) | set(pb))
        if abs(pa.get(s, 0.0) - pb.get(s, 0.0)) > 1e-9
    }
    return Diff([d for _, _, d in found], len(a), len(b), pos)


def compare(recorded_root: str | Path, replayed_root: str | Path) -> Diff:
    """The recorded session's decisions vs the replay's, both cut at the recorded session's horizon."""
    return diff_logs(order_log(recorded_root), order_log(replayed_root), horizon(recorded_root))


def _iso(ns: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def render(diff: Diff) -> str:
    """A readable account: a clean diff in one line, else the first divergence field by field and a count."""
    head = f"{diff.recorded_events} recorded events, {diff.replayed_events} replayed"
    if diff.clean:
        return f"replay matches the recording: {head}, no difference"
    lines = [f"replay DIVERGES from the recording: {len(diff.differences)} difference(s), "
             f"{len(diff.positions)} final position(s) differ ({head})"]  # fmt: skip
    d = diff.first
    if d is not None:
        what = {"order": "order", "fill": "fill", "refusal": "refused order"}.get(d.kind, "event")
        side = (
            "only in the recording"
            if d.replayed is None
            else "only in the replay"
            if d.recorded is None
            else ""
        )
        lines.append(f"first divergence: {what} {d.client_order_id} (brain {d.brain}) at data time "
                     f"{_iso(d.data_ts_ns)} ({d.data_ts_ns}){': ' + side if side else ''}")  # fmt: skip
        width = max([len(f) for f, _, _ in d.fields()] + [5])
        lines.append(f"  {'field':<{width}}  {'recorded':<28}  replayed")
        for name, x, y in d.fields():
            lines.append(f"  {name:<{width}}  {_fmt(x):<28}  {_fmt(y)}")
    for sym, (x, y) in diff.positions.items():
        lines.append(f"final position {sym}: recorded {x:g}, replayed {y:g}")
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    return "-" if v is None else str(v)


__all__ = ["Diff", "Difference", "ReplayError", "ReplaySpec", "compare", "cut", "diff_logs", "horizon", "render",
           "run", "topology"]  # fmt: skip
