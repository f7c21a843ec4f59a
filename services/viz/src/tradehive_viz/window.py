"""The main window: toolbar (symbol, timeframe, price, follow, time zone), the chart, and panels for brains
(state, parameters, pause/resume), trades (positions, PnL, events, kill switch) and indicator toggles; a status
line with the platform's health. Everything here runs in the GUI thread; data arrive through the bridge."""

from __future__ import annotations

import time
from typing import Any

import msgspec
import numpy as np
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets
from tradehive import protocol as p
from tradehive import series

from tradehive_viz.agent import View, VizAgent, timeframe_seconds
from tradehive_viz.bridge import Bridge
from tradehive_viz.chart import ChartView, fmt_time
from tradehive_viz.controls import Controls
from tradehive_viz.model import apply_ticks

TIMEFRAMES = ("1s", "1m", "5m", "1h", "1d")
PRICES = ("bid", "ask", "mid", "last")
REPAINT_HZ = 15
MAX_EVENTS = 300


def parse_value(text: str) -> Any:
    """What an operator types into a parameter cell: JSON numbers/booleans/null as such, anything else text."""
    text = text.strip()
    try:
        return msgspec.json.decode(text.encode())
    except msgspec.DecodeError:
        return text


class MainWindow(QtWidgets.QMainWindow):
    def __init__(
        self, agent: VizAgent, controls: Controls, bridge: Bridge, stale_after_s: float = 10.0
    ) -> None:
        super().__init__()
        self.agent, self.controls, self.bridge = agent, controls, bridge
        self.stale_after_s = stale_after_s
        self.view = agent.config and View(
            agent.config.symbol.upper(), agent.config.timeframe, agent.config.price
        )
        self.agents: dict[str, dict[str, Any]] = {}
        self.ns_ok = True
        self.ns_error = ""
        self.last_live = 0.0
        self.health_bad = False
        self.router_pid: int | None = None
        self.loaded_view: View | None = None
        self.load_error = ""
        self.replies: dict[int, tuple[str, bool]] = {}
        self._fill_requests: set[int] = set()
        self._fill_ids: set[str] = set()
        self.indicator_resets: dict[tuple[str, str], int] = {}
        self.positions: p.PositionReport | None = None
        self.events: list[str] = []
        self.setWindowTitle("Tradehive chart")
        self.resize(1280, 800)
        self.chart = ChartView()
        self.setCentralWidget(self.chart)
        self._build_toolbar()
        self._build_panels()
        self.status_label = QtWidgets.QLabel("starting")
        self.readout_label = QtWidgets.QLabel("")
        self.readout_label.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        self.statusBar().addWidget(self.readout_label, 1)
        self.statusBar().addPermanentWidget(self.status_label)
        self.chart.readout.connect(self.readout_label.setText)
        self.chart.follow_changed.connect(self.follow_btn.setChecked)
        b = bridge
        b.history_loaded.connect(self.on_history)
        b.live_data.connect(self.on_live)
        b.indicator_data.connect(self.on_indicators)
        b.trade_event_received.connect(self.on_trade_event)
        b.positions_received.connect(self.on_positions)
        b.health_changed.connect(self.on_health)
        b.command_reply.connect(self.on_reply)
        b.signal_received.connect(self.on_signal)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.chart.refresh)
        self.timer.start(int(1000 / REPAINT_HZ))
        self.health_timer = QtCore.QTimer(self)
        self.health_timer.timeout.connect(self.show_health)
        self.health_timer.start(500)

    # -- layout -------------------------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        tb = self.addToolBar("view")
        tb.setMovable(False)
        self.symbol_box = QtWidgets.QComboBox()
        self.symbol_box.setEditable(True)
        self.symbol_box.setMinimumWidth(110)
        if self.view.symbol:
            self.symbol_box.addItem(self.view.symbol)
        self.tf_box = QtWidgets.QComboBox()
        self.tf_box.addItems(TIMEFRAMES)
        self.tf_box.setCurrentText(self.view.timeframe)
        self.price_box = QtWidgets.QComboBox()
        self.price_box.addItems(PRICES)
        self.price_box.setCurrentText(self.view.price)
        for label, box in (
            ("Symbol", self.symbol_box),
            ("Timeframe", self.tf_box),
            ("Price", self.price_box),
        ):
            tb.addWidget(QtWidgets.QLabel(f" {label} "))
            tb.addWidget(box)
        self.symbol_box.activated.connect(lambda *_: self.select_from_toolbar())
        self.tf_box.activated.connect(lambda *_: self.select_from_toolbar())
        self.price_box.activated.connect(lambda *_: self.select_from_toolbar())
        tb.addSeparator()
        self.follow_btn = QtWidgets.QToolButton(text="Follow", checkable=True, checked=True)
        self.follow_btn.clicked.connect(lambda on: self.chart.set_follow(bool(on)))
        tb.addWidget(self.follow_btn)
        all_btn = QtWidgets.QToolButton(text="All")
        all_btn.clicked.connect(self.chart.show_all)
        tb.addWidget(all_btn)
        self.utc_btn = QtWidgets.QToolButton(text="UTC", checkable=True, checked=True)
        self.utc_btn.clicked.connect(self.toggle_utc)
        tb.addWidget(self.utc_btn)

    def _build_panels(self) -> None:
        dock = QtWidgets.QDockWidget("Platform", self)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)
        tabs = QtWidgets.QTabWidget()
        tabs.addTab(self._brains_tab(), "Brains")
        tabs.addTab(self._trades_tab(), "Trades")
        tabs.addTab(self._overlays_tab(), "Indicators")
        dock.setWidget(tabs)
        dock.setMinimumWidth(340)
        self.tabs = tabs
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)

    def _brains_tab(self) -> QtWidgets.QWidget:
        w = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(w)
        self.brain_table = QtWidgets.QTableWidget(0, 4)
        self.brain_table.setHorizontalHeaderLabels(["brain", "strategy", "state", "bars / orders / fills"])
        self.brain_table.horizontalHeader().setStretchLastSection(True)
        self.brain_table.horizontalHeader().setSectionResizeMode(
            QtWidgets.QHeaderView.ResizeMode.ResizeToContents
        )
        self.brain_table.verticalHeader().hide()
        self.brain_table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.brain_table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.brain_table.itemSelectionChanged.connect(self.show_params)
        lay.addWidget(self.brain_table, 2)
        self.param_table = QtWidgets.QTableWidget(0, 2)
        self.param_table.setHorizontalHeaderLabels(["parameter", "value"])
        self.param_table.horizontalHeader().setStretchLastSection(True)
        lay.addWidget(self.param_table, 3)
        row = QtWidgets.QHBoxLayout()
        self.apply_btn = QtWidgets.QPushButton("Apply")
        self.pause_btn = QtWidgets.QPushButton("Pause")
        self.resume_btn = QtWidgets.QPushButton("Resume")
        self.apply_btn.clicked.connect(self.apply_params)
        self.pause_btn.clicked.connect(lambda: self.brain_command("pause"))
        self.resume_btn.clicked.connect(lambda: self.brain_command("resume"))
        for btn in (self.apply_btn, self.pause_btn, self.resume_btn):
            row.addWidget(btn)
        lay.addLayout(row)
        self.reply_label = QtWidgets.QLabel("")
        self.reply_label.setWordWrap(True)
        lay.addWidget(self.reply_label)
        self._params_of: str = ""
        self._params_shown: dict[str, Any] = {}
        return w

    def _trades_tab(self) -> QtWidgets.QWidget:
        w = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(w)
        self.pnl_label = QtWidgets.QLabel("no positions yet")
        lay.addWidget(self.pnl_label)
        self.pos_table = QtWidgets.QTableWidget(0, 4)
        self.pos_table.setHorizontalHeaderLabels(["symbol", "qty", "avg price", "realised"])
        self.pos_table.horizontalHeader().setStretchLastSection(True)
        self.pos_table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        lay.addWidget(self.pos_table, 1)
        self.events_list = QtWidgets.QListWidget()
        lay.addWidget(QtWidgets.QLabel("last events"))
        lay.addWidget(self.events_list, 2)
        self.kill_btn = QtWidgets.QPushButton("Kill switch…")
        self.kill_btn.setStyleSheet("color: #ef5350; font-weight: bold")
        self.kill_btn.clicked.connect(self.kill_switch)
        lay.addWidget(self.kill_btn)
        return w

    def _overlays_tab(self) -> QtWidgets.QWidget:
        self.overlay_list = QtWidgets.QListWidget()
        self.overlay_list.itemChanged.connect(self._overlay_toggled)
        return self.overlay_list

    # -- view selection -------------------------------------------------------------------------------------
    def select_from_toolbar(self) -> None:
        self.select(self.symbol_box.currentText(), self.tf_box.currentText(), self.price_box.currentText())

    def select(self, symbol: str, timeframe: str, price: str) -> None:
        self.view = View(symbol.upper(), timeframe, price)
        self.loaded_view = None
        self.agent.select(symbol, timeframe, price)

    def toggle_utc(self, on: bool) -> None:
        self.chart.time_axis.utc = bool(on)
        self.utc_btn.setText("UTC" if on else "local")
        self.chart.time_axis.picture = None
        self.chart.time_axis.update()

    # -- data from the agent ------------------------------------------------------------------------------------
    def on_history(self, view: View, bars: np.ndarray, forming: np.ndarray | None, error: str) -> None:
        if view != self.view:
            return  # an answer to a selection already replaced
        self.load_error = error
        title = f"{view.symbol}  {view.timeframe}  {view.price}"
        self.chart.load(bars, forming, timeframe_seconds(view.timeframe), title)
        self.loaded_view = view
        self.last_live = time.monotonic()
        self.chart.clear_fills()
        self._fill_ids.clear()
        self.request_fills()

    def request_fills(self) -> None:
        """Every fill so far, from each trader (live fills then arrive on its events stream)."""
        for name, info in self.agents.items():
            if info.get("role") == "trader" and "uri" in info:
                self._fill_requests.add(self.controls.command(name, "fills_list"))

    def on_live(self, view: View, closed: np.ndarray | None, forming: np.ndarray | None,
                ticks: np.ndarray | None) -> None:  # fmt: skip
        if view != self.view or self.loaded_view != view:
            return
        self.last_live = time.monotonic()
        s = self.chart.series
        if closed is not None:
            s.append_closed(closed)
        if forming is not None:
            s.set_forming(forming)
        if ticks is not None:
            apply_ticks(s, ticks, view.price, int(timeframe_seconds(view.timeframe) * 1e9))

    def on_indicators(self, brain: str, batch: series.IndicatorBatch) -> None:
        if batch.symbol != self.view.symbol:
            return
        ts, values = batch.ts_array(), batch.values_array()
        for j, name in enumerate(batch.names):
            pane, style = batch.panes.get(name, "price"), batch.style(name)
            key = (brain, name)
            fresh = key not in self.chart.indicators
            line = self.chart.indicator(brain, name, pane, style)
            if batch.reset:
                line.reset(ts, values[:, j])
                self.indicator_resets[key] = self.indicator_resets.get(key, 0) + 1
            else:
                line.append(ts, values[:, j])
            if fresh:
                item = QtWidgets.QListWidgetItem(
                    f"{brain} · {name} ({pane}{'' if style == 'line' else ', ' + style})"
                )
                item.setData(QtCore.Qt.ItemDataRole.UserRole, key)
                item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(QtCore.Qt.CheckState.Checked)
                self.overlay_list.addItem(item)

    def _overlay_toggled(self, item: QtWidgets.QListWidgetItem) -> None:
        key = item.data(QtCore.Qt.ItemDataRole.UserRole)
        if key:
            self.chart.set_visible(key[0], key[1], item.checkState() == QtCore.Qt.CheckState.Checked)

    def on_signal(self, sig: p.Signal) -> None:
        pass  # signals are shown through the brains' status (state) and their indicator series

    def on_trade_event(self, trader: str, event: Any) -> None:
        tag = type(event).__name__
        sym = getattr(event, "symbol", "")
        if tag == "OrderFilled":
            if sym == self.view.symbol and event.fill_id not in self._fill_ids:
                self._fill_ids.add(event.fill_id)
                self.chart.add_fill(int(event.ts_ns), float(event.price), event.side.sign, float(event.qty))
            text = f"{event.side.value} {event.qty:g} {sym} @ {event.price:.5f}"
        elif tag == "OrderRejected":
            text = f"rejected {sym}: {event.reason}"
        else:
            text = f"{tag[5:].lower()} {sym} {getattr(event, 'client_order_id', '')}"
        ts = getattr(event, "ts_ns", 0)
        self.events.append(f"{fmt_time(ts, self.chart.time_axis.utc) if ts else ''}  {trader}: {text}")
        self.events = self.events[-MAX_EVENTS:]
        self.events_list.addItem(self.events[-1])
        while self.events_list.count() > MAX_EVENTS:
            self.events_list.takeItem(0)
        self.events_list.scrollToBottom()

    def on_positions(self, report: p.PositionReport) -> None:
        self.positions = report
        self.pnl_label.setText(f"{report.trader}: realised {report.realised_pnl:,.2f}  unrealised "
                               f"{report.unrealised_pnl:,.2f}  fees {report.fees:,.2f}")  # fmt: skip
        rows = sorted(report.positions.items())
        self.pos_table.setRowCount(len(rows))
        for i, (sym, pos) in enumerate(rows):
            avg = pos.get("avg_price")
            for j, text in enumerate((sym, f"{pos.get('qty', 0):g}", "" if avg is None else f"{avg:.5f}",
                                      f"{pos.get('realised', 0) or 0:,.2f}")):  # fmt: skip
                self.pos_table.setItem(i, j, QtWidgets.QTableWidgetItem(text))
        self._update_levels()

    def _update_levels(self) -> None:
        levels: dict[str, tuple[float, str]] = {}
        if self.positions is not None:
            pos = self.positions.positions.get(self.view.symbol) or {}
            qty, avg = pos.get("qty"), pos.get("avg_price")
            if qty and avg is not None:
                levels[f"position {qty:+g}"] = (float(avg), "position")
        for name, info in self.agents.items():
            if info.get("role") != "trader":
                continue
            for w in (info.get("status") or {}).get("working", []):
                if w.get("symbol") == self.view.symbol:
                    levels[f"{w['kind'].upper()} {w['side']} {w['qty']:g} ({name})"] = (
                        float(w["price"]),
                        w["kind"],
                    )
        self.chart.set_levels(levels)

    # -- health and controls --------------------------------------------------------------------------------------
    def on_health(self, ns_ok: bool, ns_error: str, agents: dict[str, dict[str, Any]]) -> None:
        self.ns_ok, self.ns_error = ns_ok, ns_error
        no_trader_before = not any(i.get("role") == "trader" for i in self.agents.values())
        self.agents = agents
        symbols: set[str] = set()
        for name, info in sorted(agents.items()):
            st = info.get("status") or {}
            if info.get("role") == "router":
                symbols.update(st.get("symbols", {}))
                if name == self.agent.router:
                    pid = st.get("pid")
                    if self.router_pid is not None and pid is not None and pid != self.router_pid:
                        self.agent.reload()  # a restarted router rebuilt its history: load it again
                    if pid is not None and not info.get("error"):
                        self.router_pid = pid
        for sym in sorted(symbols):
            if self.symbol_box.findText(sym) < 0:
                self.symbol_box.addItem(sym)
        if not self.view.symbol and symbols:
            symbol = sorted(symbols)[0]
            self.symbol_box.setCurrentText(symbol)
            self.select(symbol, self.view.timeframe, self.view.price)
        self._show_brains()
        self._update_levels()
        if (
            no_trader_before
            and self.loaded_view is not None
            and any(i.get("role") == "trader" for i in agents.values())
        ):
            self.request_fills()

    def _show_brains(self) -> None:
        brains = [(n, i) for n, i in sorted(self.agents.items()) if i.get("role") == "brain"]
        self.brain_table.setRowCount(len(brains))
        for row, (name, info) in enumerate(brains):
            st = info.get("status") or {}
            if info.get("vanished"):
                state = "vanished"
            elif info.get("error"):
                state = "unreachable"
            elif st.get("warming_up"):
                state = "warming up"
            else:
                state = "running" if st.get("running", True) else "paused"
            counters = f"{st.get('bars', 0)} / {st.get('orders_sent', 0)} / {st.get('fills', 0)}"
            for col, text in enumerate((name, str(st.get("strategy", "")), state, counters)):
                item = self.brain_table.item(row, col)
                if item is None:
                    item = QtWidgets.QTableWidgetItem()
                    self.brain_table.setItem(row, col, item)
                if item.text() != text:
                    item.setText(text)
                if col == 2:
                    item.setForeground(QtGui.QColor("#26a69a" if state == "running" else "#ef5350"))
        if self._params_of:
            self.show_params(refresh=True)

    def selected_brain(self) -> str:
        rows = self.brain_table.selectionModel().selectedRows()
        if not rows:
            return self._params_of
        item = self.brain_table.item(rows[0].row(), 0)
        return item.text() if item is not None else ""

    def select_brain(self, name: str) -> None:
        for row in range(self.brain_table.rowCount()):
            item = self.brain_table.item(row, 0)
            if item is not None and item.text() == name:
                self.brain_table.selectRow(row)
                self.show_params()
                return

    def show_params(self, refresh: bool = False) -> None:
        name = self.selected_brain()
        params = ((self.agents.get(name) or {}).get("status") or {}).get("params", {})
        if refresh and name == self._params_of and params == self._params_shown:
            return
        if refresh and self.param_table.state() == QtWidgets.QAbstractItemView.State.EditingState:
            return  # never overwrite what the operator is typing
        self._params_of, self._params_shown = name, dict(params)
        self.param_table.setRowCount(len(params))
        for row, (key, value) in enumerate(sorted(params.items())):
            k = QtWidgets.QTableWidgetItem(key)
            k.setFlags(k.flags() & ~QtCore.Qt.ItemFlag.ItemIsEditable)
            self.param_table.setItem(row, 0, k)
            self.param_table.setItem(row, 1, QtWidgets.QTableWidgetItem(msgspec.json.encode(value).decode()))

    def edited_params(self) -> dict[str, Any]:
        out = {}
        for row in range(self.param_table.rowCount()):
            key, cell = self.param_table.item(row, 0), self.param_table.item(row, 1)
            if key is None or cell is None:
                continue
            value = parse_value(cell.text())
            if value != self._params_shown.get(key.text()):
                out[key.text()] = value
        return out

    def apply_params(self) -> list[int]:
        brain = self.selected_brain()
        changes = self.edited_params()
        if not brain or not changes:
            self.reply_label.setText("nothing to apply")
            return []
        return [self.controls.command(brain, "set_param", k, v) for k, v in changes.items()]

    def brain_command(self, method: str) -> int | None:
        brain = self.selected_brain()
        if not brain:
            self.reply_label.setText("select a brain first")
            return None
        return self.controls.command(brain, method)

    def kill_switch(self, confirm: bool = True) -> int | None:
        traders = [n for n, i in self.agents.items() if i.get("role") == "trader" and not i.get("vanished")]
        if not traders:
            self.reply_label.setText("no trader found")
            return None
        trader = traders[0]
        engaged = bool(((self.agents.get(trader) or {}).get("status") or {}).get("kill_switch"))
        action = "release" if engaged else "ENGAGE"
        if confirm:
            answer = QtWidgets.QMessageBox.question(
                self, "Kill switch", f"{action} the kill switch of {trader}? "
                + ("New orders will be allowed again." if engaged else "Every new order will be refused."))  # fmt: skip
            if answer != QtWidgets.QMessageBox.StandardButton.Yes:
                return None
        return self.controls.command(trader, "kill_switch", not engaged, "operator (chart)")

    def on_reply(self, command_id: int, target: str, text: str, ok: bool, result: Any) -> None:
        self.replies[command_id] = (text, ok)
        if command_id in self._fill_requests:
            self._fill_requests.discard(command_id)
            if ok and isinstance(result, list):
                self._add_fills(result)
            return
        self.reply_label.setText(f"{target}: {text}")
        self.reply_label.setStyleSheet(f"color: {'#26a69a' if ok else '#ef5350'}")

    def _add_fills(self, fills: list[dict[str, Any]]) -> None:
        for ev in fills:
            fill_id = str(ev.get("fill_id", ""))
            if ev.get("symbol") == self.view.symbol and fill_id not in self._fill_ids:
                self._fill_ids.add(fill_id)
                sign = 1 if ev.get("side") == "BUY" else -1
                self.chart.add_fill(int(ev["ts_ns"]), float(ev["price"]), sign, float(ev["qty"]))

    def candle_geometry(self, last: int = 40) -> dict[str, Any]:
        """Where the last visible candles are drawn, in window pixels, with their OHLC (pixel tests, screenshots)."""
        chart, s = self.chart, self.chart.series
        out: dict[str, Any] = {"candles": [], "forming": None}

        def pos(i: int, price: float) -> tuple[int, int]:
            scene = chart.candle_scene_pos(i, price)
            pt = chart.mapTo(self, chart.mapFromScene(scene))
            return pt.x(), pt.y()

        def row(i: int, bar: Any) -> dict[str, Any]:
            o, c = float(bar["open"]), float(bar["close"])
            x, y_open = pos(i, o)
            _, y_close = pos(i, c)
            _, y_high = pos(i, float(bar["high"]))
            _, y_low = pos(i, float(bar["low"]))
            return {"index": i, "ts": int(bar["ts"]), "open": o, "close": c, "high": float(bar["high"]),
                    "low": float(bar["low"]), "x": x, "y_open": y_open, "y_close": y_close, "y_high": y_high,
                    "y_low": y_low, "up": c >= o}  # fmt: skip

        for i in range(max(0, len(s) - last), len(s)):
            out["candles"].append(row(i, s.bars[i]))
        if s.forming is not None:
            out["forming"] = row(len(s), s.forming)
        return out

    def show_health(self) -> None:
        parts, bad = [], False
        if not self.ns_ok:
            parts.append("NAME SERVER LOST")
            bad = True
        router = self.agent.router
        if not router:
            parts.append("no router found")
            bad = True
        else:
            info = self.agents.get(router) or {}
            if info.get("vanished") or info.get("error"):
                parts.append(f"router {router}: {info.get('error') or 'gone'}")
                bad = True
        age = time.monotonic() - self.last_live if self.last_live else None
        if self.load_error:
            parts.append(f"history: {self.load_error}")
            bad = True
        elif age is not None and age > self.stale_after_s:
            parts.append(f"STALE: no data for {age:.0f} s")
            bad = True
        elif age is not None:
            parts.append(f"data {age:.1f} s ago")
        gone = sorted(n for n, i in self.agents.items() if i.get("vanished"))
        if gone:
            parts.append("vanished: " + ", ".join(gone))
            bad = True
        n_ok = sum(1 for i in self.agents.values() if not i.get("error") and not i.get("vanished"))
        parts.append(f"{n_ok}/{len(self.agents)} agents up")
        self.status_label.setText("  |  ".join(parts))
        self.status_label.setStyleSheet(f"color: {'#ef5350' if bad else '#26a69a'}; font-weight: bold")
        self.health_bad = bad
        title = f"{self.view.symbol}  {self.view.timeframe}  {self.view.price}"
        self.chart.title.setText(title + ("   ⚠ " + parts[0] if bad else ""))
        self.chart.title.setColor("#ef5350" if bad else "#b2b5be")
