"""The ``tradehive`` command: ``run`` the platform locally, export ``history`` from the running router."""

from __future__ import annotations

import csv
import signal
import sys
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Tradehive: real-time automated trading.")


@app.command()
def run(
    data: Annotated[
        str, typer.Option(help="directory of recorded data to replay; absent: the built-in simulator")
    ] = "",
    fmt: Annotated[str, typer.Option("--format", help="auto | lean | binance")] = "auto",
    tz: Annotated[str, typer.Option(help="data time zone, e.g. -05:00 (default: per format)")] = "",
    symbols: Annotated[str, typer.Option(help="comma-separated symbols (default: all found)")] = "",
    speed: Annotated[str, typer.Option(help="1 (real time), N (N x real time) or max")] = "1",
    timeframe: Annotated[str, typer.Option(help="bar timeframe the brains trade on")] = "1m",
    exit_at_end: Annotated[
        bool, typer.Option("--exit-at-end", help="stop when a finite replay ends")
    ] = False,
    ns_port: Annotated[int, typer.Option(envvar="AGENTCORE_NS_PORT")] = 9090,
    log_level: Annotated[str, typer.Option(help="agents' log level")] = "warning",
    security_dir: Annotated[
        str,
        typer.Option(
            envvar="AGENTCORE_SECURITY_DIR", help="keys directory (agentcore keys init): CurveZMQ + TLS on"
        ),
    ] = "",
) -> None:
    """Start name server, feeder, router, brains and trader as local processes; Ctrl-C stops them all."""
    from agentcore.launcher import Launcher

    from tradehive.platform import build_topology
    from tradehive.status import StatusBoard

    topo = build_topology(data=data, fmt=fmt, tz=tz, symbols=[s for s in symbols.split(",") if s] or None,
                          speed=speed, timeframe=timeframe, ns_port=ns_port, log_level=log_level,
                          security_dir=security_dir)  # fmt: skip
    launcher = Launcher(topo, live=False)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    board = StatusBoard("127.0.0.1", ns_port, replay=bool(data))
    t0 = time.monotonic()
    launcher.start_all()
    board.console.print(f"[bold]tradehive[/] up in {time.monotonic() - t0:.1f}s: "
                        f"{', '.join(topo.agents)}; name server 127.0.0.1:{ns_port}. Ctrl-C stops.")  # fmt: skip
    board.console.print(
        f"security: on (CurveZMQ + Pyro5 TLS, keys {security_dir})" if security_dir else
        "security: OFF (a local run: any process on this host may connect; see docs/security.md)"
    )  # fmt: skip
    try:
        with board.live() as live:
            while not stop["now"]:
                launcher.check()
                snap = board.poll()
                live.update(board.render(snap, launcher.rows()))
                if board.finished(snap) and not board.summarised:
                    live.stop()
                    board.print_summary(snap)
                    if exit_at_end:
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
    board.console.print("tradehive stopped.")


@app.command()
def history(
    symbol: str,
    timeframe: Annotated[str, typer.Option(help="1s, 1m, 5m, 1h, 1d ...")] = "1m",
    price: Annotated[str, typer.Option(help="bid | ask | mid | last")] = "bid",
    csv_path: Annotated[str, typer.Option("--csv", help="output file ('-' for stdout)")] = "-",
    last: Annotated[int, typer.Option(help="only the last N bars (0: all held)")] = 0,
    router: Annotated[str, typer.Option(help="router agent name")] = "router",
    ns_host: Annotated[str, typer.Option(envvar="AGENTCORE_NS_HOST")] = "127.0.0.1",
    ns_port: Annotated[int, typer.Option(envvar="AGENTCORE_NS_PORT")] = 9090,
) -> None:
    """Export bars from the running router as CSV (header: time, ts_ns, open, high, low, close, volume, count)."""
    from agentcore.client import request

    from tradehive import protocol as p

    req = p.BarHistoryRequest(symbol=symbol.upper(), timeframe=timeframe, price=price, last_n=last or None)
    try:
        reply = request(
            f"{router}.{p.ROUTER_HISTORY}", p.encode(req), ns_host=ns_host, ns_port=ns_port, timeout=10
        )
    except Exception as exc:  # noqa: BLE001 - any failure is a clear error exit
        print(f"tradehive history: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise typer.Exit(1) from exc
    if isinstance(reply, bytes):
        print(f"tradehive history: {p.decode(reply)}", file=sys.stderr)
        raise typer.Exit(1)
    out = sys.stdout if csv_path == "-" else open(csv_path, "w", newline="")  # noqa: SIM115
    try:
        write_bars_csv(out, reply)
    finally:
        if out is not sys.stdout:
            out.close()
    if csv_path != "-":
        print(f"{reply.size} bars written to {csv_path}", file=sys.stderr)


@app.command("prom-sd")
def prom_sd(
    out: Annotated[str, typer.Option(help="file_sd target file to keep current")] = "targets.json",
    interval: Annotated[float, typer.Option(help="seconds between name-server lookups")] = 5.0,
    once: Annotated[bool, typer.Option("--once", help="write the file once and exit")] = False,
    ns_host: Annotated[str, typer.Option(envvar="AGENTCORE_NS_HOST")] = "127.0.0.1",
    ns_port: Annotated[int, typer.Option(envvar="AGENTCORE_NS_PORT")] = 9090,
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


def write_bars_csv(out: Any, bars: Any) -> None:
    w = csv.writer(out)
    w.writerow(["time", "ts_ns", "open", "high", "low", "close", "volume", "count"])
    for b in bars:
        ts = int(b["ts"])
        iso = datetime.fromtimestamp(ts / 1e9, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        w.writerow([iso, ts, repr(float(b["open"])), repr(float(b["high"])), repr(float(b["low"])),
                    repr(float(b["close"])), repr(float(b["volume"])), int(b["count"])])  # fmt: skip


def main() -> None:
    app()


if __name__ == "__main__":
    main()
