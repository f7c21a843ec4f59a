"""Every decoder that reads bytes from outside, as a fuzz target: valid seeds, a runner, the errors it may raise.

A target's ``run`` feeds one input to the real decoder and checks what came out (a decoded order is valid, a
reader's rows are finite and positive...). It may raise only the decoder's documented error (``clean``);
anything else (an IndexError, a RecursionError, a numpy error) is a bug. Used by ``tests/fuzz`` (bounded
budget, hypothesis) and by ``make fuzz`` (``fuzz_run.py``: >= 1M mutated cases per decoder).
"""

from __future__ import annotations

import contextlib
import io
import math
import random
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

NAN, INF = float("nan"), float("inf")
NASTY_FLOATS = (NAN, INF, -INF, -1.0, 0.0, -0.0, 1e-320, 1e308, -1e308)
NASTY_INTS = (0, -1, 2**63 - 1, -(2**63), 2**64 - 1, 10**30)


@dataclass(frozen=True)
class Target:
    name: str
    seeds: Callable[[], list[Any]]  # valid inputs: bytes, or a list of frames
    run: Callable[[Any], None]
    clean: tuple[type[BaseException], ...]
    frames: bool = False  # inputs are multipart frame lists


# --------------------------------------------------------------------------------------------------- wire
def _wire_seeds() -> list[Any]:
    from agentcore import wire

    arr = np.zeros(4, dtype=[("ts", "<i8"), ("bid", "<f8"), ("ask", "<f8")])
    out = [
        wire.encode("tick.EURUSD", {"a": 1, "b": [1.5, "x"]}, sender="feeder", seq=7),
        wire.encode("bar.1m.EURUSD.bid", arr, sender="router", seq=1),
        wire.encode("", b"raw bytes", sender="client", seq=1),
        wire.encode("exec.trader", np.arange(6, dtype="<f4").reshape(2, 3), sender="trader", seq=3),
    ]
    return [[bytes(memoryview(f)) for f in frames] for frames in out]


def _wire_run(frames: list[bytes]) -> None:
    from agentcore import wire

    msg = wire.decode(frames)
    assert isinstance(msg.topic, str) and isinstance(msg.seq, int) and msg.nbytes >= 0


def _wire_clean() -> tuple[type[BaseException], ...]:
    from agentcore.errors import WireError

    return (WireError,)


# --------------------------------------------------------------------------------------------------- tradehive protocol
def _protocol_seeds() -> list[Any]:
    from tradehive import protocol as p

    recs = [
        p.TickHistoryRequest(symbol="EURUSD", start_ns=0, end_ns=2**62, limit=10),
        p.StreamStatusRequest(),
        p.StreamStatus(streams={"EURUSD": (10, 1_400_000_000_000_000_000)}),
        p.BarHistoryRequest(symbol="EURUSD", timeframe="1m", price="mid", last_n=5),
        p.Signal(brain="b", name="regime", symbol="EURUSD", value=1.5, ts_ns=1, data={"k": 1}),
        p.OrderAck(client_order_id="c-1", accepted=True),
        p.PositionReport(
            trader="t",
            ts_ns=1,
            positions={"EURUSD": {"qty": 1.0}},
            realised_pnl=0.0,
            unrealised_pnl=0.0,
            fees=0.0,
        ),  # fmt: skip
        p.ErrorReply(reason="x"),
    ]
    return [p.encode(r) for r in recs]


def _protocol_run(data: bytes) -> None:
    from tradehive import protocol as p

    rec = p.decode(data)
    assert isinstance(rec, p.Record.__args__)  # type: ignore[attr-defined]


def _protocol_clean() -> tuple[type[BaseException], ...]:
    from tradehive import protocol as p

    return (p.ProtocolError,)


# --------------------------------------------------------------------------------------------------- order codec
def _orders_seeds() -> list[Any]:
    from marketcore.orders import codec
    from marketcore.orders.messages import CancelOrder, OrderSide, OrderType, SubmitOrder

    msgs = [
        SubmitOrder(client_order_id="c-1", symbol="EURUSD", side=OrderSide.BUY, qty=1000.0),
        SubmitOrder(
            client_order_id="c-2",
            symbol="EURUSD",
            side=OrderSide.SELL,
            qty=5.0,
            type=OrderType.LIMIT,
            limit_price=1.1,
            stop_loss=1.2,
            take_profit=1.0,
            ts_ns=5,
        ),  # fmt: skip
        CancelOrder(client_order_id="c-1", symbol="EURUSD"),
    ]
    return [codec.encode(m) for m in msgs]


def _orders_run(data: bytes) -> None:
    from marketcore.orders import codec
    from marketcore.orders.messages import SubmitOrder

    msg = codec.decode(data)
    if isinstance(msg, SubmitOrder):  # nothing non-finite, negative or zero gets through
        assert math.isfinite(msg.qty) and msg.qty > 0, msg
        for v in (msg.limit_price, msg.stop_price, msg.stop_loss, msg.take_profit):
            assert v is None or (math.isfinite(v) and v > 0), msg


def _orders_clean() -> tuple[type[BaseException], ...]:
    from marketcore.errors import DecodeError

    return (DecodeError,)


# --------------------------------------------------------------------------------------------------- readers
_TMP = Path(tempfile.mkdtemp(prefix="fuzz-readers-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))


def _lean_seeds() -> list[Any]:
    return [b"0,1.3901,1.3903\r\n1000,1.3902,1.3904\r\n2000,1.39,1.39\r\n", b"5,1.1,1.2\n"]


def _check_ticks(out: np.ndarray, price: tuple[str, ...]) -> None:
    for col in price:
        assert np.all(np.isfinite(out[col])) and np.all(out[col] > 0), out
    ts = out["ts"]
    assert np.all(ts[1:] >= ts[:-1]), ts  # in order (np.diff would overflow on extreme values)
    # a timestamp in a plausible range: 1970 .. 2262 (ms -> ns did not wrap around int64)
    assert np.all(ts >= 0), ts


def _lean_run(data: bytes) -> None:
    from marketcore.io.lean import read_lean_quote_ticks

    path = _TMP / "20140508_quote.csv"
    path.write_bytes(data)
    _check_ticks(read_lean_quote_ticks(path, on_error="skip"), ("bid", "ask"))
    read_lean_quote_ticks(path, on_error="raise")  # clean error or the same rows


def _binance_seeds() -> list[Any]:
    return [
        b'[[1609459200000,"1",null,"buy",29000.5,0.01,290.0],[1609459200001,"2",null,"sell",29001.0,0.5,null]]',
        b"[]",
    ]


def _binance_run(data: bytes) -> None:
    from marketcore.io.binance import read_binance_trades

    path = _TMP / "BTC_USDT-trades.json"
    path.write_bytes(data)
    out = read_binance_trades(path, on_error="skip")
    _check_ticks(out, ("last",))
    assert np.all(np.isfinite(out["volume"])) and np.all(out["volume"] >= 0)
    read_binance_trades(path, on_error="raise")


def _readers_clean() -> tuple[type[BaseException], ...]:
    from marketcore.errors import MarketcoreError

    return (MarketcoreError,)


# --------------------------------------------------------------------------------------------------- settings
def _settings_seeds() -> list[Any]:
    return [b"AGENTCORE_NS_PORT=9090\nAGENTCORE_COMM_TIMEOUT=2.5\nAGENTCORE_BIND_HOST=0.0.0.0",
            b"AGENTCORE_SNDHWM=10\nAGENTCORE_CONNECT=[]\nAGENTCORE_LOG_LEVEL=debug"]  # fmt: skip


def _settings_run(data: bytes) -> None:
    from agentcore import settings as s

    env = {}
    for line in data.decode("utf-8", "replace").split("\n"):
        k, _, v = line.partition("=")
        env[k] = v
    got = s.from_env(s.AgentSettings, s.FABRIC_PREFIX, env)
    for name, value in msgspec.structs.asdict(got).items():  # no NaN/inf/negative timing or size gets in
        if isinstance(value, float):
            assert math.isfinite(value) and value > 0, (name, value)
        elif isinstance(value, int) and name not in ("max_msg_size", "linger_ms"):
            assert value >= 0, (name, value)


def _settings_clean() -> tuple[type[BaseException], ...]:
    from agentcore.errors import ConfigError

    return (ConfigError,)


# --------------------------------------------------------------------------------------------------- topology
def _topology_seeds() -> list[Any]:
    return [
        b"agents:\n  a:\n    class: agentcore.testing:Probe\n    settings: {log_level: info}\n"
        b"nameserver: {port: 9090}\nrestart: {max_restarts: 3}\n",
        b"agents: {}\nsettings: {transport: ipc}\nstart_method: exec\n",
    ]


def _topology_run(data: bytes) -> None:
    from agentcore.launcher import load_topology

    path = _TMP / "topology.yaml"
    path.write_bytes(data)
    load_topology(path)


def _config_clean() -> tuple[type[BaseException], ...]:
    from agentcore.errors import ConfigError

    return (ConfigError,)


# --------------------------------------------------------------------------------------------------- CLI args
def _cli_seeds() -> list[Any]:
    return [b"agentcore\0call\0trader\0status", b"agentcore\0ps\0--json\0--ns-port\09091",
            b"tradehive\0run\0--speed\0max\0--symbols\0EURUSD", b"agentcore\0keys\0init\0/tmp/x",
            b"tradehive\0history\0EURUSD\0--timeframe\01m\0--last\05"]  # fmt: skip


_COMMANDS: dict[str, Any] = {}


def _cli_run(data: bytes) -> None:
    """Parse (never run) a command line with the real click/typer command tree."""
    import typer

    if not _COMMANDS:
        from agentcore.cli import app as agentcore_app
        from tradehive.cli import app as tradehive_app

        _COMMANDS["agentcore"] = typer.main.get_command(agentcore_app)
        _COMMANDS["tradehive"] = typer.main.get_command(tradehive_app)
    words = data.decode("utf-8", "replace").split("\0")
    prog = "tradehive" if words[0] == "tradehive" else "agentcore"
    cmd = _COMMANDS[prog]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        ctx = cmd.make_context(prog, words[1:])
        while ctx._protected_args or ctx.args:  # the subcommand and its arguments, as click's Group.invoke
            name, *rest = [*ctx._protected_args, *ctx.args]
            sub = cmd.get_command(ctx, name)
            if sub is None:
                raise _click_error()(f"no command {name!r}")
            cmd, ctx = sub, sub.make_context(name, rest, parent=ctx)
            if not hasattr(sub, "get_command"):
                break


def _click_error() -> type[BaseException]:
    from typer._click.exceptions import UsageError  # typer vendors click; its command tree raises these

    return UsageError


def _cli_clean() -> tuple[type[BaseException], ...]:
    import typer.exceptions

    return (typer.exceptions.TyperException, typer.exceptions.Exit, typer.exceptions.Abort)


TARGETS: dict[str, Callable[[], Target]] = {
    "wire": lambda: Target("wire", _wire_seeds, _wire_run, _wire_clean(), frames=True),
    "protocol": lambda: Target("protocol", _protocol_seeds, _protocol_run, _protocol_clean()),
    "orders": lambda: Target("orders", _orders_seeds, _orders_run, _orders_clean()),
    "lean": lambda: Target("lean", _lean_seeds, _lean_run, _readers_clean()),
    "binance": lambda: Target("binance", _binance_seeds, _binance_run, _readers_clean()),
    "settings": lambda: Target("settings", _settings_seeds, _settings_run, _settings_clean()),
    "topology": lambda: Target("topology", _topology_seeds, _topology_run, _config_clean()),
    "cli": lambda: Target("cli", _cli_seeds, _cli_run, _cli_clean()),
}


# --------------------------------------------------------------------------------------------------- mutation
_INTERESTING = [
    b"\xcb" + struct.pack(">d", v) for v in NASTY_FLOATS
] + [b"\xd3" + struct.pack(">q", v) for v in (-1, 0, -(2**63))] + [
    b"\xcf" + struct.pack(">Q", 2**64 - 1), b"\x02", b"\x7f", b"\xff", b"\x00", b"nan", b"inf", b"-1", b"0",
    b"1e999", b"NaN", b"-inf", b"\xdd\xff\xff\xff\xff", b"\xdf\xff\xff\xff\xff", b"\xdb\xff\xff\xff\xff",
    b"[" * 64, b"{" * 64, b"\n", b",", b"\r\n", b'"', b"\0",
]  # fmt: skip


def mutate_bytes(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    """One to four random edits: bit flips, interesting values, insertions, deletions, truncation, splicing."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(9)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 2:
            b[pos:pos] = rng.choice(_INTERESTING)
        elif op == 3:
            piece = rng.choice(_INTERESTING)
            b[pos : pos + len(piece)] = piece
        elif op == 4 and b:
            end = min(len(b), pos + rng.randint(1, 16))
            del b[pos:end]
        elif op == 5:
            del b[rng.randrange(len(b) + 1) :]
        elif op == 6:
            other = rng.choice(pool)
            b[pos:] = other[rng.randrange(len(other) + 1) :]
        elif op == 7 and b:
            start = rng.randrange(len(b))
            b[pos:pos] = b[start : start + rng.randint(1, 32)]
        else:
            b[pos:pos] = rng.randbytes(rng.randint(1, 8))
    return bytes(b)


def mutate_frames(rng: random.Random, frames: list[bytes], pool: list[list[bytes]]) -> list[bytes]:
    """Edit one frame's bytes, or drop, duplicate, reorder or add frames."""
    f = list(frames)
    op = rng.randrange(6)
    if op <= 2 and f:
        i = rng.randrange(len(f))
        f[i] = mutate_bytes(rng, f[i], [fr for frs in pool for fr in frs])
    elif op == 3 and f:
        del f[rng.randrange(len(f))]
    elif op == 4 and f:
        rng.shuffle(f)
    else:
        f.insert(rng.randrange(len(f) + 1), rng.choice(rng.choice(pool)))
    return f


def fuzz(target: Target, cases: int, seed: int = 0) -> dict[str, Any]:
    """Run ``cases`` mutated inputs; returns counts by outcome. An unexpected exception is re-raised with the
    input that caused it (``FuzzFailure``)."""
    rng = random.Random(seed)
    seeds = target.seeds()
    corpus = list(seeds)
    outcomes: dict[str, int] = {}
    for _ in range(cases):
        base = rng.choice(corpus)
        data = mutate_frames(rng, base, seeds) if target.frames else mutate_bytes(rng, base, seeds)
        try:
            target.run(data)
            key = "ok"
            if len(corpus) < 5000 and rng.random() < 0.05:
                corpus.append(data)  # a decodable mutant is a good parent
        except target.clean as exc:
            key = type(exc).__name__
        except Exception as exc:  # noqa: BLE001 - the bug we are looking for
            raise FuzzFailure(target.name, data, exc) from exc
        outcomes[key] = outcomes.get(key, 0) + 1
    return outcomes


class FuzzFailure(AssertionError):
    def __init__(self, target: str, data: Any, exc: BaseException) -> None:
        super().__init__(f"{target}: {type(exc).__name__}: {exc} on input {data!r:.600}")
        self.data = data
