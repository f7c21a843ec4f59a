"""The ``tradehive`` command: ``run`` the platform locally, export ``history`` from the running router."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import typer
from agentcore import cliutil
from agentcore.errors import AgentcoreError
from agentcore.settings import LogLevel

from tradehive.config import DataFormat, FileFormat

app = cliutil.make_app("tradehive", help="Tradehive: real-time automated trading.")
config_app = typer.Typer(help="The platform's settings as a file (TOML or YAML).", no_args_is_help=True)
app.add_typer(config_app, name="config")

Price = Literal["bid", "ask", "mid", "last"]
HistoryFormat = Literal["csv", "json", "parquet"]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="settings file (TOML or YAML); env and options override it"),
]


def _check(parse: Any) -> Any:
    """A Typer callback validating an option with marketcore's own parser (a bad value exits 2, one line)."""

    def callback(value: Any) -> Any:
        if value is None or value == "":
            return value
        try:
            parse(value)
        except Exception as exc:  # noqa: BLE001 - the parser's message is the user's answer
            raise typer.BadParameter(str(exc)) from exc
        return value

    return callback


def _speed(value: str) -> Any:
    from marketcore.sources.pacer import parse_speed

    return parse_speed(value)


def _timeframe(value: str) -> Any:
    from marketcore.bars.timeframe import Timeframe

    return Timeframe.parse(value)


def _tz(value: str) -> Any:
    from marketcore.io.timezone import parse_tz

    return parse_tz(value)


@app.command()
def run(
    config: ConfigOpt = None,
    data: Annotated[
        str | None, typer.Option(help="directory of recorded data to replay; absent: the built-in simulator")
    ] = None,
    fmt: Annotated[DataFormat | None, typer.Option("--format", help="data format [default: auto]")] = None,
    tz: Annotated[
        str | None,
        typer.Option(
            help="the data's clock: IANA zone (America/New_York) or offset (-05:00)", callback=_check(_tz)
        ),
    ] = None,
    symbols: Annotated[str | None, typer.Option(help="comma-separated symbols (default: all found)")] = None,
    speed: Annotated[
        str | None, typer.Option(help="1 (real time), N (N x real time) or max", callback=_check(_speed))
    ] = None,
    timeframe: Annotated[
        str | None,
        typer.Option(
            help="bars the brains trade on [default: 1s on the simulator, 1m on replays]",
            callback=_check(_timeframe),
        ),
    ] = None,  # fmt: skip
    strategy: Annotated[
        str | None,
        typer.Option(
            help="the trading brain's strategy: module:Class or path/file.py:Class [default: ema_cross]"
        ),
    ] = None,
    exit_at_end: Annotated[
        bool | None, typer.Option("--exit-at-end/--stay-up", help="stop when a finite replay ends")
    ] = None,
    ns_host: Annotated[
        str | None,
        typer.Option("--ns-host", envvar="AGENTCORE_NS_HOST", help="name server host [default: 127.0.0.1]"),
    ] = None,
    ns_port: Annotated[
        int | None,
        typer.Option("--ns-port", envvar="AGENTCORE_NS_PORT", help="name server port [default: 9090]"),
    ] = None,
    log_level: Annotated[LogLevel | None, typer.Option(help="agents' log level [default: warning]")] = None,
    security_dir: Annotated[
        str | None,
        typer.Option(
            envvar="AGENTCORE_SECURITY_DIR", help="keys directory (agentcore keys init): CurveZMQ + TLS on"
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="no live display: one status line every 10 s (also off a TTY)"),
    ] = False,
    record: Annotated[
        str | None,
        typer.Option(
            help="record the session to this new directory (replay it: tradehive replay --recording)"
        ),
    ] = None,
) -> None:
    """Start name server, feeder, router, brains and trader as local processes; Ctrl-C stops them all."""
    from agentcore.launcher import Launcher
    from marketcore.errors import MarketcoreError

    from tradehive import config as config_mod
    from tradehive.platform import from_config
    from tradehive.status import StatusBoard

    overrides = {"data": data, "format": fmt, "tz": tz, "speed": speed, "timeframe": timeframe,
                 "strategy": strategy, "exit_at_end": exit_at_end, "security_dir": security_dir, "ns_host": ns_host,
                 "ns_port": ns_port,
                 "log_level": log_level, "record": record,
                 "symbols": [s for s in symbols.split(",") if s] if symbols is not None else None}  # fmt: skip
    cfg, _ = config_mod.load(config, overrides)
    config_mod.validate(cfg)
    if cfg.record and (Path(cfg.record) / "manifest.json").exists():
        raise cliutil.UsageError(f"{cfg.record} already holds a recording: record to a new directory")
    try:
        topo = from_config(cfg)
    except (FileNotFoundError, MarketcoreError) as exc:  # no data files / unreadable data: a usage error
        raise cliutil.UsageError(str(exc)) from exc
    launcher = Launcher(topo, live=False)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    board = StatusBoard(
        cfg.ns_host, cfg.ns_port, replay=bool(cfg.data), live=not quiet and sys.stdout.isatty()
    )
    t0 = time.monotonic()
    launcher.start_all()
    board.console.print(f"[bold]tradehive[/] up in {time.monotonic() - t0:.1f}s: "
                        f"{', '.join(topo.agents)}; name server {cfg.ns_host}:{cfg.ns_port}. Ctrl-C stops.")  # fmt: skip
    board.console.print(
        f"security: on (CurveZMQ + Pyro5 TLS, keys {cfg.security_dir})" if cfg.security_dir else
        "security: OFF (a local run: any process on this host may connect; see docs/security.md)"
    )  # fmt: skip
    code = 0
    try:
        with board.live() as live:
            while not stop["now"]:
                launcher.check()
                if launcher.settled():
                    board.console.print("tradehive: every agent gave up; stopping.")
                    code = 1
                    break
                snap = board.poll()
                live.update(board.render(snap, launcher.rows()))
                if board.finished(snap) and not board.summarised:
                    live.stop()
                    board.print_summary(snap)
                    if cfg.exit_at_end:
                        break
                    board.console.print(
                        "Replay done; the platform stays up (history, status, shell). Ctrl-C stops."
                    )
                    live.start()
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        launcher.stop_all()
    failed = [r["name"] for r in launcher.rows() if r["state"] == "failed"]
    if failed:
        board.console.print(f"tradehive: agents gave up: {', '.join(failed)}")
        code = 1
    board.console.print("tradehive stopped.")
    raise typer.Exit(code)


@config_app.command("dump")
def config_dump(
    config: ConfigOpt = None,
    fmt: Annotated[FileFormat, typer.Option("--format", help="file format written")] = "toml",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="file to write (default: stdout)")] = None,
) -> None:
    """Write the effective settings (defaults, the file, TRADEHIVE_RUN_* variables) as a file `run --config`
    reads back."""
    from tradehive import config as config_mod

    cfg, _ = config_mod.load(config)
    text = config_mod.dump(cfg, fmt)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text)


@config_app.command("show")
def config_show(config: ConfigOpt = None, as_json: cliutil.JsonFlag = False) -> None:
    """Print each setting, its value and where it came from (default, file, environment)."""
    from tradehive import config as config_mod

    cfg, sources = config_mod.load(config)
    values = msgspec.to_builtins(cfg)
    rows = [{"setting": k, "value": values[k], "source": sources[k]} for k in sources]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("setting", "value", "source")
    for r in rows:
        table.add_row(r["setting"], json.dumps(r["value"]), r["source"])
    Console().print(table)


@app.command()
def history(
    symbol: str,
    timeframe: Annotated[
        str, typer.Option(help="1s, 1m, 5m, 1h, 1d ...", callback=_check(_timeframe))
    ] = "1m",
    price: Annotated[Price, typer.Option(help="price the bars are built from")] = "bid",
    fmt: Annotated[HistoryFormat, typer.Option("--format", help="output format")] = "csv",
    out: Annotated[str, typer.Option("--out", "-o", help="output file ('-': stdout)")] = "-",
    csv_path: Annotated[str | None, typer.Option("--csv", help="CSV to this file ('-': stdout)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="same as --format json")] = False,
    last: Annotated[int, typer.Option(help="only the last N bars (0: all held)")] = 0,
    router: Annotated[str, typer.Option(help="router agent name")] = "router",
    ns_host: cliutil.NsHost = "127.0.0.1",
    ns_port: cliutil.NsPort = 9090,
) -> None:
    """Export bars from the running router: CSV (header: time, ts_ns, open, high, low, close, volume, count),
    JSON (a list of objects with the same keys) or Parquet."""
    from agentcore.client import request

    from tradehive import export
    from tradehive import protocol as p

    if csv_path is not None:
        fmt, out = "csv", csv_path
    if as_json:
        fmt = "json"
    if fmt == "parquet" and out == "-":
        raise cliutil.UsageError("parquet is binary: give a file with --out")
    req = p.BarHistoryRequest(symbol=symbol.upper(), timeframe=timeframe, price=price, last_n=last or None)
    try:
        reply = request(
            f"{router}.{p.ROUTER_HISTORY}", p.encode(req), ns_host=ns_host, ns_port=ns_port, timeout=10
        )
    except Exception as exc:  # noqa: BLE001 - any failure is a clear error exit
        cliutil.fail("tradehive history", f"{type(exc).__name__}: {exc}")
    export.write(reply, fmt, out)
    if out != "-":
        print(f"{reply.size} bars written to {out}", file=sys.stderr)


@app.command()
def backtest(
    data: Annotated[str, typer.Option(help="directory of recorded data to replay")],
    out: Annotated[str, typer.Option(help="report directory (created)")] = "backtest-report",
    fmt: Annotated[str, typer.Option("--format", help="auto | lean | binance")] = "auto",
    tz: Annotated[str, typer.Option(help="data time zone, e.g. -05:00 (default: per format)")] = "",
    symbols: Annotated[str, typer.Option(help="comma-separated symbols (default: all found)")] = "",
    speed: Annotated[str, typer.Option(help="replay speed: max (default), N or 1")] = "max",
    timeframe: Annotated[str, typer.Option(help="bar timeframe the brains trade on")] = "1m",
    strategy: Annotated[
        str,
        typer.Option(
            help="the trading brain's strategy: module:Class or path/file.py:Class (default ema_cross)"
        ),
    ] = "",
    param: Annotated[list[str] | None, typer.Option(help="strategy parameter k=v (repeatable)")] = None,
    sweep: Annotated[
        list[str] | None, typer.Option(help="parameter grid k=v1,v2 (repeatable): one run per combination")
    ] = None,
    start: Annotated[str, typer.Option(help="replay window start (ISO date/time)")] = "",
    end: Annotated[str, typer.Option(help="replay window end, exclusive (ISO date/time)")] = "",
    capital: Annotated[
        float, typer.Option(help="starting capital for returns, in the quote currency")
    ] = 100_000.0,
) -> None:
    """Replay recorded data through the real agents and write a report (HTML, CSV, JSON) to --out."""
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from tradehive.backtest import BacktestSpec, check_strategy, parse_grid, parse_params
    from tradehive.backtest import run as run_backtest
    from tradehive.errors import TradehiveError

    console = Console(stderr=True)
    if not Path(data).is_dir():
        print(f"tradehive backtest: no data directory {data!r}", file=sys.stderr)
        raise typer.Exit(2)
    try:
        base = parse_params(param or [])
        grid = parse_grid(sweep or []) if sweep else [{}]
        check_strategy(strategy, [{**base, **combo} for combo in grid])
    except TradehiveError as exc:
        print(f"tradehive backtest: {exc}", file=sys.stderr)
        raise typer.Exit(2) from exc
    rows = []
    for i, combo in enumerate(grid):
        params = {**base, **combo}
        where = Path(out) / f"run-{i + 1:03d}" if len(grid) > 1 else Path(out)
        spec = BacktestSpec(data=data, out=where, fmt=fmt, tz=tz, symbols=[s for s in symbols.split(",") if s] or None,
                            speed=speed, timeframe=timeframe, strategy=strategy, params=params, start=start, end=end,
                            capital=capital)  # fmt: skip
        try:
            stats = run_backtest(spec, progress=lambda line: console.print(f"[dim]{line}[/]"))
        except TradehiveError as exc:
            print(f"tradehive backtest: {exc}", file=sys.stderr)
            raise typer.Exit(1) from exc
        rows.append((params, where, stats[0]))
        console.print(f"report: {where / 'report.html'}")
    table = Table(title="Backtest" if len(grid) == 1 else "Parameter sweep")
    for col in ("params", "net PnL", "fees", "return", "Sharpe", "max DD", "trades", "win rate", "report"):
        table.add_column(col)
    for params, where, s in rows:
        table.add_row(
            ", ".join(f"{k}={v}" for k, v in params.items()) or "(defaults)", f"{s.net_pnl:,.2f} {s.currency}",
            f"{s.fees:,.2f}", f"{s.total_return:.3%}", "-" if s.sharpe is None else f"{s.sharpe:.2f}",
            f"{s.max_drawdown:.3%}", str(s.trades), "-" if s.win_rate is None else f"{s.win_rate:.0%}", str(where),
        )  # fmt: skip
    # off a terminal (a log, CI, a pipe) rich assumes 80 columns and cuts every cell to "(defa…"; give it room
    Console(width=None if sys.stdout.isatty() else 1000).print(table)


@app.command()
def replay(
    recording: Annotated[str, typer.Option(help="a recording directory (tradehive run --record DIR)")],
    speed: Annotated[
        str, typer.Option(help="replay speed: max (default), N or 1", callback=_check(_speed))
    ] = "max",
    param: Annotated[
        list[str] | None,
        typer.Option(help="override a strategy parameter: k=v (the trading brain) or brain.k=v (repeatable)"),
    ] = None,
    out: Annotated[
        str | None, typer.Option(help="directory for the replay's own recording [default: a temporary one]")
    ] = None,
    as_json: cliutil.JsonFlag = False,
) -> None:
    """Replay a recorded session through the real agents with its recorded configuration and compare the decisions:
    exit 0 when the orders, fills and positions are the same, 1 with the first divergence printed."""
    import tempfile

    from rich.console import Console

    from tradehive import replay as replay_mod
    from tradehive.backtest import parse_params
    from tradehive.errors import TradehiveError
    from tradehive.recording import Recording, RecordingError

    try:
        run_meta = Recording(recording).run
        params = parse_params(param or [])
    except (RecordingError, TradehiveError) as exc:
        raise cliutil.UsageError(str(exc)) from exc
    if not run_meta.get("agents"):
        raise cliutil.UsageError(
            f"{recording}: the manifest does not say what was run (record with --record)"
        )
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="tradehive-replay-") as tmp:
        spec = replay_mod.ReplaySpec(
            recording=Path(recording), out=Path(out or tmp), speed=speed, params=params
        )
        try:
            replayed = replay_mod.run(spec, progress=lambda line: console.print(f"[dim]{line}[/]"))
            diff = replay_mod.compare(recording, replayed)
        except replay_mod.ReplayError as exc:
            raise cliutil.UsageError(str(exc)) from exc
        except TradehiveError as exc:
            print(f"tradehive replay: {exc}", file=sys.stderr)
            raise typer.Exit(1) from exc
    if as_json:
        first = diff.first
        print(json.dumps({"clean": diff.clean, "differences": len(diff.differences),
                          "recorded_events": diff.recorded_events, "replayed_events": diff.replayed_events,
                          "positions": {s: list(v) for s, v in diff.positions.items()},
                          "first": None if first is None else {
                              "kind": first.kind, "client_order_id": first.client_order_id, "brain": first.brain,
                              "data_ts_ns": first.data_ts_ns, "recorded": first.recorded, "replayed": first.replayed}},
                         indent=2))  # fmt: skip
    else:
        print(replay_mod.render(diff))
    raise typer.Exit(0 if diff.clean else 1)


@app.command("prom-sd")
def prom_sd(
    out: Annotated[str, typer.Option(help="file_sd target file to keep current")] = "targets.json",
    interval: Annotated[float, typer.Option(help="seconds between name-server lookups")] = 5.0,
    once: Annotated[bool, typer.Option("--once", help="write the file once and exit")] = False,
    ns_host: cliutil.NsHost = "127.0.0.1",
    ns_port: cliutil.NsPort = 9090,
) -> None:
    """Keep a Prometheus file-SD target file in step with the agents registered in the name server."""
    from pathlib import Path

    from agentcore import naming

    from tradehive import promsd

    naming.configure_pyro(5.0)
    path = Path(out)
    if once:
        try:
            n, _ = promsd.sync_once(ns_host, ns_port, path)
        except promsd.PromSdError as exc:
            print(f"tradehive prom-sd: {exc}", file=sys.stderr)
            raise typer.Exit(1) from exc
        print(f"{n} target(s) in {path}", file=sys.stderr)
        return
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    try:
        promsd.run(ns_host, ns_port, path, interval, should_stop=lambda: stop["now"],
                   log=lambda line: print(line, file=sys.stderr, flush=True))  # fmt: skip
    except KeyboardInterrupt:
        pass


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def viz(ctx: typer.Context) -> None:
    """Open the live chart against the running platform (options: tradehive viz --help)."""
    try:
        from tradehive_viz.app import main as viz_main
    except ImportError as exc:
        print(f"tradehive viz: the chart is not installed ({exc}); uv sync installs it", file=sys.stderr)
        raise typer.Exit(1) from exc
    raise typer.Exit(viz_main(list(ctx.args)))


def main() -> None:
    from marketcore.errors import MarketcoreError

    cliutil.run(app, "tradehive", (AgentcoreError, MarketcoreError))


if __name__ == "__main__":
    main()
