"""The recorder: subscribes to everything a running platform publishes (the router's ticks and closed bars, every
brain's signals, every trader's executions and positions) and writes it, headers included, to a Parquet recording
(``tradehive.recording``). Peers are discovered by role and joined as they appear. The ticks a symbol had before the
recorder first heard of it (the history the brains warmed up on) are fetched once from the router and kept, flagged
as history, so a replay of the recording starts from the same state."""

from __future__ import annotations

import time
from typing import Any

import msgspec
from agentcore import Agent, Message
from marketcore.orders import decode as decode_order
from marketcore.schema import BAR_DTYPE, TICK_DTYPE
from tradehive import protocol as p
from tradehive.flow import FlowReporter
from tradehive.metrics import RoleMetrics
from tradehive.recording import HISTORY, Header, RecordingWriter


class RecorderConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    out_dir: str = "recording"
    router: str = "router"
    max_bytes: int = 2 << 30  # the recording's bound: the oldest parts are deleted beyond it
    part_seconds: float = 5.0
    part_rows: int = 250_000
    history: bool = True  # fetch each symbol's ticks from before the recording started (brains' warm-up data)
    history_timeout_s: float = 30.0
    discover_interval_s: float = 1.0
    flow_to: str = ""  # a replaying feeder's name: say hello once joined, then report progress (flow control)
    wait_for: list[str] = []  # addresses (agent.alias) to have joined before saying hello to the feeder
    run: dict[str, Any] = {}  # what was run (the agents' configs), kept in the manifest for a replay


class RecorderAgent(Agent):
    role = "recorder"
    Config = RecorderConfig
    config_prefix = "TRADEHIVE_RECORDER_"

    def on_init(self) -> None:
        cfg: RecorderConfig = self.config
        self.writer = RecordingWriter(
            cfg.out_dir, max_bytes=cfg.max_bytes, part_rows=cfg.part_rows, part_seconds=cfg.part_seconds
        )
        if cfg.run:
            self.writer.set_run(cfg.run)
        self.joined: set[str] = set()
        self.flow: FlowReporter | None = None
        self.seen: dict[str, int] = {}  # symbol -> first live tick ts recorded
        self.counts = {"ticks": 0, "bars": 0, "events": 0, "history_ticks": 0, "bad": 0}
        m = RoleMetrics(self)
        self._c = m.counter("tradehive_recorder_rows_total", "Rows recorded.", ["stream"])
        self._bad = m.counter("tradehive_recorder_rejected_total", "Messages not recorded.", ["reason"])
        self.every(cfg.discover_interval_s, self.join_peers, start=0.0)
        self.every(min(1.0, cfg.part_seconds), self.writer.flush)

    # -- discovery ------------------------------------------------------------------------------------------
    def join_peers(self) -> None:
        cfg: RecorderConfig = self.config
        wanted = [
            (cfg.router, p.ROUTER_MARKET, {"tick.": self.on_ticks, "bar.": self.on_bars, "wm.": self.on_wm})
        ]
        try:
            wanted += [(b, p.BRAIN_SIGNALS, {"signal.": self.on_record}) for b in self.discover("brain")]
            wanted += [(t, p.TRADER_EVENTS, {"": self.on_record}) for t in self.discover("trader")]
        except Exception as exc:  # noqa: BLE001 - the name server may be away: try again on the next tick
            self.log.warning("discovery failed", error=str(exc))
            return
        for agent, alias, handlers in wanted:
            address = f"{agent}.{alias}"
            if address in self.joined:
                continue
            try:
                self.connect(address, handler=handlers, alias=address, timeout=0.2)
            except Exception:  # noqa: BLE001 - not registered yet (or not bound yet): next round
                continue
            self.joined.add(address)
            self.log.info("recording", address=address)
        if cfg.history and f"{cfg.router}.{p.ROUTER_HISTORY}" not in self.joined:
            try:
                self.connect(f"{cfg.router}.{p.ROUTER_HISTORY}", alias="history", timeout=0.2)
                self.joined.add(f"{cfg.router}.{p.ROUTER_HISTORY}")
            except Exception:  # noqa: BLE001
                pass
        if cfg.flow_to and self.flow is None and set(cfg.wait_for) <= self.joined:
            try:
                self.flow = FlowReporter(self, cfg.flow_to, timeout=0.5)
            except Exception:  # noqa: BLE001 - the feeder is not registered yet: next round
                return
            self.flow.hello()

    def on_wm(self, msg: Message) -> None:
        if self.flow is not None:
            self.flow.report(int(msg.data), msg.topic[len("wm.") :])

    # -- handlers -------------------------------------------------------------------------------------------
    def on_ticks(self, msg: Message) -> None:
        ticks = msg.data
        if msg.kind != "n" or ticks.dtype != TICK_DTYPE:
            self._reject("bad_ticks")
            return
        symbol = msg.topic[len("tick.") :]
        if symbol not in self.seen and ticks.size:
            self.seen[symbol] = int(ticks["ts"][0])
            self._fetch_history(symbol, int(ticks["ts"][0]))
        self.writer.add_ticks(symbol, ticks, _header(msg))
        self.counts["ticks"] += int(ticks.size)
        self._c("ticks").inc(int(ticks.size))

    def on_bars(self, msg: Message) -> None:
        if msg.type == p.TYPE_BAR_PARTIAL:
            return  # the forming bar is re-sent many times a second; closed bars are the record
        if msg.kind != "n" or msg.data.dtype != BAR_DTYPE:
            self._reject("bad_bars")
            return
        self.writer.add_bars(msg.topic, msg.data, _header(msg))
        self.counts["bars"] += int(msg.data.size)
        self._c("bars").inc(int(msg.data.size))

    def on_record(self, msg: Message) -> None:
        if msg.type == p.TYPE_WATERMARK and isinstance(
            msg.data, int
        ):  # a trader's wm.<SYMBOL>: how far it got
            text = str(msg.data)
            self.writer.add_event(msg.topic, msg.type, text.encode(), _header(msg), text, msg.data)
            self.counts["events"] += 1
            return
        payload = bytes(msg.data) if isinstance(msg.data, bytes | memoryview) else None
        if payload is None:
            self._reject("bad_record")
            return
        try:
            rec: Any = (
                p.decode(payload)
                if msg.topic.startswith(("signal.", "pos.", "at."))
                else decode_order(payload)
            )
            text = msgspec.json.encode(rec).decode()
        except Exception as exc:  # noqa: BLE001 - kept as bytes, flagged, counted: nothing is lost
            self._reject("undecodable")
            self.log.warning("undecodable record kept raw", topic=msg.topic, error=str(exc))
            rec, text = None, ""
        data_ns = int(getattr(rec, "ts_ns", 0) or 0)
        self.writer.add_event(msg.topic, msg.type, payload, _header(msg), text, data_ns)
        self.counts["events"] += 1
        self._c("events").inc()

    def _fetch_history(self, symbol: str, first_ts: int) -> None:
        if not self.config.history or f"{self.config.router}.{p.ROUTER_HISTORY}" not in self.joined:
            return
        try:
            hist = self.request(
                "history", p.encode(p.TickHistoryRequest(symbol=symbol, start_ns=0, end_ns=first_ts)),
                timeout=self.config.history_timeout_s,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - the recording goes on without the warm-up history
            self._reject("history_unavailable")
            self.log.warning("no history before the recording", symbol=symbol, error=str(exc))
            return
        if getattr(hist, "dtype", None) != TICK_DTYPE:
            self._reject("history_unavailable")
            return
        self.writer.add_ticks(symbol, hist, Header(HISTORY, 0, time.time_ns(), 0))
        self.counts["history_ticks"] += int(hist.size)

    def _reject(self, reason: str) -> None:
        self.counts["bad"] += 1
        self._bad(reason).inc()

    def on_stop(self) -> None:
        self.writer.close()

    def extra_status(self) -> dict[str, Any]:
        return {"out_dir": self.config.out_dir, "joined": sorted(self.joined), **self.counts}


def _header(msg: Message) -> Header:
    return Header(msg.sender, msg.seq, msg.sent_ns, msg.origin_ns)


__all__ = ["RecorderAgent", "RecorderConfig"]
