"""The four tradehive processes (feeder -> router -> brain -> trader) instrumented for tick->order latency.

The latency is read from the platform's own origin stamp (``Message.origin_ns``: set by the feeder, forwarded
by the router on ticks and bars, carried by the brain on the orders they cause). Only the two ends are
bench-specific, by subclassing the real agents:

* :class:`PacedFeeder` — the real ``FeederAgent`` (role ``feeder``) whose stream is replaced by a paced one:
  one EURUSD tick per message at the rate asked for, published in 1-ms bursts from a loop timer (the loop
  sleeps in between, like a live adapter); each tick is stamped (``ts`` and ``origin_ns``) with
  ``time.time_ns()`` just before its send: the feeder-receive stamp.
* :class:`TimedTrader` — the real ``TraderAgent`` (risk, paper venue, portfolio, events) that keeps, per order
  intent, its handler-entry time and the data time it decided on (``SubmitOrder.data_ts_ns``: the newest tick
  the brain had seen); re-sends carry no origin and are not counted.

The router and the brain (built-in ``tick_echo`` strategy: one market order per tick batch) are unmodified.
The router and brain batch what they drain together (one order may answer several ticks), so latency is read
per tick: from each tick's feeder stamp to the trader's entry of the first order whose data time reached it
(:func:`per_tick_latency`); a tick no order reached counts as lost. With one order per tick it is the same
figure as handler entry - origin stamp.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from agentcore import Message, remote
from marketcore.orders import decode as decode_order
from marketcore.schema import TICK_DTYPE
from tradehive import protocol as p
from tradehive_brain.agent import BrainAgent
from tradehive_feeder.agent import FeederAgent
from tradehive_router.agent import RouterAgent
from tradehive_trader.agent import TraderAgent

SYMBOL = "EURUSD"
BURST_S = 0.001  # the feeder's timer period: ticks due are published every millisecond


def price_path(n: int, seed: int = 7) -> np.ndarray:
    """``n`` EURUSD-like quotes (random walk, 0.2-pip spread); ``ts`` is filled in at send time."""
    rng = np.random.default_rng(seed)
    ticks = np.zeros(n, dtype=TICK_DTYPE)
    mid = 1.0842 + np.cumsum(rng.normal(0.0, 2e-6, n))
    ticks["bid"] = np.round(mid - 0.00001, 5)
    ticks["ask"] = np.round(mid + 0.00001, 5)
    ticks["last"] = np.nan
    ticks["volume"] = 0.0  # FXCM-like: no sizes (NaN would be rejected by the bar builder as invalid)
    return ticks


class PacedFeeder(FeederAgent):
    """A feeder publishing one tick per message at a fixed rate on request (``pace``)."""

    def on_init(self) -> None:
        super().on_init()  # simulator mode: binds ticks/history; its own stream is never started (step below)
        self._ticks = price_path(1)
        self._rate = 0.0
        self._t0 = 0.0
        self._sent = 0
        self._pacing = False

    def step(self) -> None:  # the simulator's stream stays off: only pace() publishes
        return

    @remote
    def pace(self, rate: float, n: int, seed: int = 7) -> None:
        """Start publishing ``n`` ticks at ``rate`` per second (returns at once; see :meth:`paced_status`)."""
        if self._pacing:
            raise RuntimeError("already pacing")
        self._ticks = price_path(int(n), seed)
        self._rate, self._sent, self._pacing = float(rate), 0, True
        self._t0 = time.perf_counter()
        self._burst()

    def _burst(self) -> None:
        due = min(self._ticks.size, int((time.perf_counter() - self._t0) * self._rate) + 1)
        ticks, send, now, topic = self._ticks, self.send, time.time_ns, p.tick_topic(SYMBOL)
        ts = ticks["ts"]
        for i in range(self._sent, due):
            ts[i] = stamp = now()
            send(p.FEEDER_TICKS, ticks[i : i + 1], topic=topic, type_=p.TYPE_TICKS, origin_ns=stamp)
        self.published += due - self._sent
        self._sent = due
        if due < ticks.size:
            self.after(BURST_S, self._burst)
        else:
            self._pacing = False
            self._elapsed = time.perf_counter() - self._t0

    @remote
    def stamps(self) -> bytes:
        """The feeder stamps (``ts``, ns) of the ticks of the last :meth:`pace`, int64 bytes."""
        return bytes(self._ticks["ts"][: self._sent].tobytes())

    @remote
    def paced_status(self) -> dict[str, Any]:
        seconds = time.perf_counter() - self._t0 if self._pacing else getattr(self, "_elapsed", 0.0)
        dropped = self._channel(p.FEEDER_TICKS).stats.dropped
        last = int(self._ticks["ts"][self._sent - 1]) if self._sent else 0
        return {
            "pacing": self._pacing,
            "sent": self._sent,
            "seconds": seconds,
            "dropped": dropped,
            "last_stamp": last,
        }


class TimedTrader(TraderAgent):
    """The trader, keeping handler entry - origin stamp of every first-time order intent (in ns)."""

    def on_init(self) -> None:
        super().on_init()
        self.lat: list[int] = []
        self.intents: list[
            tuple[int, bytes]
        ] = []  # (handler entry ns, the encoded order): decoded when taken

    def on_intent(self, msg: Message) -> Any:
        t = time.time_ns()
        if msg.origin_ns and msg.type != p.TYPE_WATERMARK:
            self.lat.append(t - msg.origin_ns)
            self.intents.append((t, msg.data))
        return super().on_intent(msg)

    @remote
    def take_arrivals(self) -> dict[str, Any]:
        out, self.lat = self.lat, []
        intents, self.intents = self.intents, []
        arrivals = np.zeros((len(intents), 2), dtype=np.int64)  # (entry ns, data_ts_ns) per order
        for i, (t, data) in enumerate(intents):
            cmd = decode_order(data)
            arrivals[i] = (t, getattr(cmd, "data_ts_ns", 0) or 0)
        return {
            "lat": out,
            "arrivals": bytes(arrivals.tobytes()),
            "risk_rejected": self.counts["risk_rejected"],
            "duplicates": self.counts["duplicates"],
        }

    @remote
    def arrived(self) -> int:
        return len(self.lat)

    @remote
    def newest_data_ns(self) -> int:
        """The data time of the last order in (0: none): the pipeline has drained once it reaches the last tick."""
        return int(getattr(decode_order(self.intents[-1][1]), "data_ts_ns", 0) or 0) if self.intents else 0


def per_tick_latency(stamps: np.ndarray, arrivals: np.ndarray) -> np.ndarray:
    """Per tick (feeder stamp ``stamps[i]``, ns): the trader's entry of the first order whose data time is at or
    after the tick, minus the stamp (ns); ticks no order reached are left out (they count as lost).
    ``arrivals``: ``(entry ns, data_ts_ns)`` rows, one per order."""
    if not arrivals.size or not stamps.size:
        return np.zeros(0, dtype=np.int64)
    by_data = arrivals[np.argsort(arrivals[:, 1], kind="stable")]
    first_after = np.minimum.accumulate(by_data[::-1, 0])[::-1]  # earliest entry among orders at or after
    idx = np.searchsorted(by_data[:, 1], stamps, side="left")
    reached = idx < by_data.shape[0]
    return first_after[idx[reached]] - stamps[reached]


__all__ = ["PacedFeeder", "TimedTrader", "per_tick_latency", "price_path"]


class _Profiled:
    """Mixin for ``--profile``: cProfile the agent's loop thread, dump to $BENCH_PROFILE_DIR/<name>.prof."""

    def on_init(self) -> None:
        import cProfile

        super().on_init()  # type: ignore[misc]
        self._prof = cProfile.Profile()
        self._prof.enable()

    def on_stop(self) -> None:
        import os

        self._prof.disable()
        self._prof.dump_stats(os.path.join(os.environ.get("BENCH_PROFILE_DIR", "/tmp"), f"{self.name}.prof"))  # type: ignore[attr-defined]
        super().on_stop()  # type: ignore[misc]


class ProfiledFeeder(_Profiled, PacedFeeder):
    pass


class ProfiledBrain(_Profiled, BrainAgent):
    pass


class ProfiledTrader(_Profiled, TimedTrader):
    pass


class ProfiledRouter(_Profiled, RouterAgent):
    pass
