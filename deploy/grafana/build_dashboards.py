"""Grafana dashboards as code: ``uv run python deploy/grafana/build_dashboards.py`` writes dashboards/*.json.

Built with grafana-foundation-sdk (a dev dependency: Grafana's own typed builders for its dashboard model),
which also lays panels out on the 24-column grid (left to right, then down). Every panel queries the
provisioned datasource by its fixed uid. :func:`expressions` lists every PromQL expression with the template
variables replaced, for ``promtool check rules`` and the live test against a real Prometheus.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="tradehive-prometheus")
OUT = Path(__file__).resolve().parent / "dashboards"
A = 'agent=~"$agent"'
S = 'symbol=~"$symbol"'
RI = "$__rate_interval"
# what the variables become when an expression is checked outside Grafana
SUBSTITUTIONS = {"$__rate_interval": "1m", "$agent": ".*", "$symbol": ".*"}


def q(expr: str, legend: str = "") -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend or "__auto").datasource(DATASOURCE)


def quantile(qv: float, selector: str, by: str = "") -> str:
    return f"histogram_quantile({qv}, sum by (le{', ' + by if by else ''}) (rate({selector}[{RI}])))"


def hop_bucket(hop: str) -> str:
    return f'tradehive_hop_latency_seconds_bucket{{hop="{hop}"}}'


def variable(name: str, metric: str, label: str) -> db.QueryVariable:
    return (
        db.QueryVariable(name).label(name).datasource(DATASOURCE)
        .query({"query": f"label_values({metric}, {label})", "refId": f"{name}-values"})
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dm.VariableSort.ALPHABETICAL_ASC)
        .include_all(True).multi(True).all_value(".*")
        .current(dm.VariableOption(selected=True, text="All", value="$__all"))
    )  # fmt: skip


class Board:
    """One dashboard: the SDK's builder with this platform's defaults (variables, refresh, UTC, read-only)."""

    def __init__(self, uid: str, title: str, tags: list[str]) -> None:
        self.uid = uid
        self.builder = (
            db.Dashboard(title).uid(uid).tags(["tradehive", *tags]).timezone("utc").readonly().refresh("5s")
            .time("now-15m", "now").version(1)
            .with_variable(variable("agent", "agentcore_up", "agent"))
            .with_variable(variable("symbol", "tradehive_router_ticks_in_total", "symbol"))
        )  # fmt: skip
        self._panels = 0

    def panel(self, title: str, targets: list[prometheus.Dataquery], kind: str = "timeseries", unit: str = "short",
              w: int = 12, h: int = 8, description: str = "") -> None:  # fmt: skip
        self._panels += 1
        builder: timeseries.Panel | stat.Panel
        if kind == "stat":
            builder = stat.Panel().reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]))
            targets = [t.instant() for t in targets]
        else:
            legend = cb.VizLegendOptions().display_mode(cm.LegendDisplayMode.TABLE)
            legend = (
                legend.placement(cm.LegendPlacement.BOTTOM).calcs(["lastNotNull", "max"]).show_legend(True)
            )
            builder = timeseries.Panel().legend(legend)
        builder = builder.id(self._panels).title(title).description(description).datasource(DATASOURCE)
        builder = builder.unit(unit).span(w).height(h)
        for i, target in enumerate(targets):
            builder = builder.with_target(target.ref_id(chr(ord("A") + i)))
        self.builder.with_panel(builder)

    def json(self) -> dict[str, Any]:
        board: dict[str, Any] = json.loads(json.dumps(self.builder.build(), cls=JSONEncoder))
        return board


def overview() -> Board:
    b = Board("tradehive-overview", "Tradehive / Overview", ["overview"])
    b.panel("Agents up", [q(f"sum(agentcore_up{{{A}}})", "up")], "stat", w=4, h=4)
    b.panel("Agents ready", [q(f"sum(agentcore_ready{{{A}}})", "ready")], "stat", w=4, h=4)
    b.panel("Scrape targets down", [q(f'count(up{{job="tradehive", {A}}} == 0) or vector(0)', "down")], "stat",
            w=4, h=4)  # fmt: skip
    b.panel("Kill switch", [q(f"max(tradehive_trader_kill_switch{{{A}}})", "engaged")], "stat", w=4, h=4)
    b.panel("Replay progress", [q(f"max by (agent) (tradehive_feeder_replay_progress_ratio{{{A}}})", "{{agent}}")],
            "stat", unit="percentunit", w=8, h=4)  # fmt: skip
    b.panel("Tick rate in (router)", [q(f"sum by (symbol) (rate(tradehive_router_ticks_in_total{{{A}, {S}}}[{RI}]))",
                                        "{{symbol}}")], unit="ops")  # fmt: skip
    b.panel("Tick to order latency", [q(quantile(0.5, hop_bucket("tick_to_order")), "p50"),
                                      q(quantile(0.99, hop_bucket("tick_to_order")), "p99")], unit="s")  # fmt: skip
    b.panel("Sequence gaps and backfill", [
        q(f"sum by (agent) (increase(agentcore_sequence_gaps_total{{{A}}}[{RI}]))", "gaps {{agent}}"),
        q(f"sum by (symbol) (increase(tradehive_router_backfilled_ticks_total{{{A}, {S}}}[{RI}]))",
          "backfilled {{symbol}}"),
    ])  # fmt: skip
    b.panel("Errors and rejected inputs", [
        q(f"sum by (agent) (rate(agentcore_handler_errors_total{{{A}}}[{RI}]))", "handler errors {{agent}}"),
        q(f"sum by (reason) (rate(tradehive_router_rejected_ticks_total{{{A}}}[{RI}]))", "rejected {{reason}}"),
        q(f"sum by (agent) (rate(agentcore_malformed_messages_total{{{A}}}[{RI}])) or "
          f"sum by (agent) (agentcore_up{{{A}}}) * 0", "malformed {{agent}}"),
    ], unit="ops")  # fmt: skip
    return b


def latency() -> Board:
    b = Board("tradehive-latency", "Tradehive / Latency by hop", ["latency"])
    sel = f"tradehive_hop_latency_seconds_bucket{{{A}}}"
    b.panel("p50 by hop", [q(quantile(0.5, sel, "hop"), "{{hop}}")], unit="s")
    b.panel("p99 by hop", [q(quantile(0.99, sel, "hop"), "{{hop}}")], unit="s")
    b.panel("Messages per hop", [q(f"sum by (hop) (rate(tradehive_hop_latency_seconds_count{{{A}}}[{RI}]))",
                                   "{{hop}}")], unit="ops")  # fmt: skip
    b.panel("Tick to order p50 / p99 / p99.9", [
        q(quantile(0.5, hop_bucket("tick_to_order")), "p50"), q(quantile(0.99, hop_bucket("tick_to_order")), "p99"),
        q(quantile(0.999, hop_bucket("tick_to_order")), "p99.9"),
    ], unit="s")  # fmt: skip
    b.panel("Handler time p99 by agent and alias", [
        q(quantile(0.99, f"agentcore_handler_duration_seconds_bucket{{{A}}}", "agent, alias"), "{{agent}} {{alias}}"),
    ], unit="s")  # fmt: skip
    b.panel("Loop lag p99 (timers late)", [
        q(quantile(0.99, f"agentcore_loop_lag_seconds_bucket{{{A}}}", "agent"), "{{agent}}"),
    ], unit="s")  # fmt: skip
    b.panel("Brain decision time p99", [
        q(quantile(0.99, f"tradehive_brain_decision_seconds_bucket{{{A}}}", "agent"), "{{agent}}"),
    ], unit="s")  # fmt: skip
    b.panel("Feeder pacing lag", [q(f"max by (agent) (tradehive_feeder_pacing_lag_seconds{{{A}}})", "{{agent}}")],
            unit="s")  # fmt: skip
    return b


def trading() -> Board:
    b = Board("tradehive-trading", "Tradehive / Trading", ["trading"])
    b.panel(
        "Order intents by outcome (brains)",
        [q(f"sum by (outcome) (rate(tradehive_brain_orders_total{{{A}}}[{RI}]))", "{{outcome}}")],
        unit="ops",
    )
    b.panel(
        "Order events (trader)",
        [q(f"sum by (event) (rate(tradehive_trader_order_events_total{{{A}}}[{RI}]))", "{{event}}")],
        unit="ops",
    )
    b.panel("Orders by state", [q(f"sum by (state) (tradehive_trader_orders{{{A}}})", "{{state}}")])
    b.panel("Fills", [q(f"sum by (symbol) (rate(tradehive_trader_fills_total{{{A}, {S}}}[{RI}]))", "{{symbol}}")],
            unit="ops")  # fmt: skip
    b.panel("Positions", [q(f"sum by (symbol) (tradehive_trader_position{{{A}, {S}}})", "{{symbol}}")])
    b.panel(
        "PnL (realised, unrealised, fees, net)",
        [q(f"sum by (currency, kind) (tradehive_trader_pnl{{{A}}})", "{{currency}} {{kind}}")],
        unit="none",
    )
    b.panel(
        "Risk rejections by rule",
        [q(f"sum by (rule) (rate(tradehive_trader_risk_rejections_total{{{A}}}[{RI}]))", "{{rule}}")],
        unit="ops",
    )
    b.panel("Risk state", [q(f"max(tradehive_trader_kill_switch{{{A}}})", "kill switch"),
                           q(f"sum(tradehive_trader_open_orders{{{A}}})", "open orders")], "stat")  # fmt: skip
    b.panel("Signals published", [
        q(f"sum by (agent, name) (rate(tradehive_brain_signals_total{{{A}}}[{RI}]))", "{{agent}} {{name}}")],
        unit="ops")  # fmt: skip
    return b


def buffers() -> Board:
    b = Board("tradehive-buffers", "Tradehive / Buffers", ["buffers"])
    sel = f"{{{A}, {S}}}"
    b.panel("Fill ratio", [q(f"max by (role, symbol, buffer) (tradehive_buffer_fill_ratio{sel})",
                             "{{role}} {{symbol}} {{buffer}}")], unit="percentunit")  # fmt: skip
    b.panel(
        "Rows",
        [q(f"max by (role, symbol, buffer) (tradehive_buffer_rows{sel})", "{{role}} {{symbol}} {{buffer}}")],
    )
    b.panel("Compactions", [q(f"sum by (role, symbol, buffer) (increase(tradehive_buffer_compactions_total{sel}[{RI}]))",
                              "{{role}} {{symbol}} {{buffer}}")])  # fmt: skip
    b.panel("Ticks in / out / bars closed", [
        q(f"sum by (symbol) (rate(tradehive_router_ticks_in_total{sel}[{RI}]))", "in {{symbol}}"),
        q(f"sum by (symbol) (rate(tradehive_router_ticks_out_total{sel}[{RI}]))", "out {{symbol}}"),
        q(f"sum by (timeframe) (rate(tradehive_router_bars_closed_total{sel}[{RI}]))", "bars {{timeframe}}"),
    ], unit="ops")  # fmt: skip
    b.panel("Messages and bytes per alias", [
        q(f"sum by (agent, alias) (rate(agentcore_messages_received_total{{{A}}}[{RI}]))", "recv {{agent}} {{alias}}"),
        q(f"sum by (agent, alias) (rate(agentcore_bytes_sent_total{{{A}}}[{RI}]))", "bytes out {{agent}} {{alias}}"),
    ], unit="ops")  # fmt: skip
    b.panel("Sends dropped (HWM)", [
        q(f"sum by (agent, alias) (rate(agentcore_send_dropped_total{{{A}}}[{RI}]))", "{{agent}} {{alias}}")],
        unit="ops")  # fmt: skip
    return b


BOARDS = (overview, latency, trading, buffers)


def dashboards() -> dict[str, dict[str, Any]]:
    """``{file name: dashboard JSON}``."""
    return {f"{b.uid}.json": b.json() for b in (make() for make in BOARDS)}


def render(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, sort_keys=True) + "\n"


def substitute(expr: str) -> str:
    for var, value in SUBSTITUTIONS.items():
        expr = expr.replace(var, value)
    return expr


def expressions(boards: dict[str, dict[str, Any]] | None = None) -> list[tuple[str, str]]:
    """``(where, PromQL)`` of every panel target, variables substituted."""
    out = []
    for name, board in (boards or dashboards()).items():
        for panel in board["panels"]:
            for t in panel["targets"]:
                out.append((f"{name}: {panel['title']} [{t['refId']}]", substitute(t["expr"])))
    return out


def rules_file(exprs: list[tuple[str, str]]) -> str:
    """A recording-rules file holding each expression (``promtool check rules`` parses every one)."""
    rules = [{"record": f"tradehive:dashboard_check:{i}", "expr": e} for i, (_w, e) in enumerate(exprs)]
    return json.dumps({"groups": [{"name": "dashboard-expressions", "rules": rules}]}, indent=1) + "\n"


def main(argv: list[str]) -> int:
    """Write the JSON files; ``--check`` only compares them (exit 1 when a file is stale)."""
    stale = []
    for name, board in dashboards().items():
        path = OUT / name
        text = render(board)
        if "--check" in argv:
            if not path.is_file() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"stale dashboards (run build_dashboards.py): {', '.join(stale)}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
