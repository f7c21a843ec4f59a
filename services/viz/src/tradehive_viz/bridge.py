"""Qt signals carrying what the agent thread and the control thread hand over: the only way data reach Qt."""

from __future__ import annotations

from typing import Any

import numpy as np
from pyqtgraph.Qt import QtCore
from tradehive import protocol as p
from tradehive import series

from tradehive_viz.agent import View


class Bridge(QtCore.QObject):
    """Implements the agent's :class:`~tradehive_viz.agent.Sink` and the controls' sink by emitting signals;
    receivers live in the GUI thread, so Qt queues each emission to it."""

    history_loaded = QtCore.Signal(object, object, object, str)  # view, bars, forming, error
    live_data = QtCore.Signal(object, object, object, object)  # view, closed, forming, ticks
    indicator_data = QtCore.Signal(str, object)  # brain, tradehive.series.IndicatorBatch
    signal_received = QtCore.Signal(object)
    trade_event_received = QtCore.Signal(str, object)
    positions_received = QtCore.Signal(object)
    peers_changed = QtCore.Signal(object)
    health_changed = QtCore.Signal(bool, str, object)
    command_reply = QtCore.Signal(int, str, str, bool, object)  # id, target, text, ok, result

    # agent sink
    def history(self, view: View, bars: np.ndarray, forming: np.ndarray | None, error: str) -> None:
        self.history_loaded.emit(view, bars, forming, error)

    def live(self, view: View, closed: np.ndarray | None, forming: np.ndarray | None,
             ticks: np.ndarray | None) -> None:  # fmt: skip
        self.live_data.emit(view, closed, forming, ticks)

    def indicators(self, brain: str, batch: series.IndicatorBatch) -> None:
        self.indicator_data.emit(brain, batch)

    def signal(self, sig: p.Signal) -> None:
        self.signal_received.emit(sig)

    def trade_event(self, trader: str, event: Any) -> None:
        self.trade_event_received.emit(trader, event)

    def positions(self, report: p.PositionReport) -> None:
        self.positions_received.emit(report)

    def peers(self, connected: dict[str, list[str]]) -> None:
        self.peers_changed.emit(connected)

    # controls sink
    def health(self, ns_ok: bool, ns_error: str, agents: dict[str, dict[str, Any]]) -> None:
        self.health_changed.emit(ns_ok, ns_error, agents)

    def reply(self, command_id: int, target: str, text: str, ok: bool, result: Any) -> None:
        self.command_reply.emit(command_id, target, text, ok, result)
