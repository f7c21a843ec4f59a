"""Bad input, at scale (bounded here; ``make fuzz`` runs >= 1M cases per decoder): every decoder raises only its
own documented error, whatever it is fed; NaN/inf/negative/zero numbers, truncated, reordered and extra frames,
schema versions from the future are refused; what decodes is valid."""

from __future__ import annotations

import math
from typing import Any

import fuzz_targets as ft
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.timeout(120)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
MUTATIONS = {"wire": 20_000, "protocol": 20_000, "orders": 20_000, "settings": 2_000, "lean": 300,
             "binance": 600, "topology": 500, "cli": 600}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ft.TARGETS))
def test_mutated_inputs_raise_only_the_decoders_error(name: str) -> None:
    target = ft.TARGETS[name]()
    outcomes = ft.fuzz(target, MUTATIONS[name], seed=12345)
    assert outcomes.get("ok", 0) > 0  # the mutants are not all trivially broken: valid paths were exercised
    assert sum(v for k, v in outcomes.items() if k != "ok") > 0  # ... nor all accepted


def _run(name: str, data: Any) -> None:
    target = ft.TARGETS[name]()
    try:
        target.run(data)
    except target.clean:
        pass


@FAST
@given(st.lists(st.binary(max_size=64), max_size=5))
def test_wire_random_frames(frames: list[bytes]) -> None:
    _run("wire", frames)


@FAST
@given(v=st.integers(-(2**63), 2**64 - 1), k=st.sampled_from(["j", "n", "b", "e", "x", ""]),
       d=st.none() | st.text(max_size=8), sh=st.none() | st.lists(st.integers(-3, 10**12), max_size=3),
       payload=st.binary(max_size=64))  # fmt: skip
def test_wire_headers_from_the_future_and_bad_shapes(v: int, k: str, d: Any, sh: Any, payload: bytes) -> None:
    from agentcore import wire
    from agentcore.errors import WireError

    header = msgspec.msgpack.encode({"v": v, "k": k, "t": "", "p": "x", "s": 1, "ns": 1, "d": d, "sh": sh})
    try:
        wire.decode([b"t", header, payload])
    except WireError as exc:
        if v != wire.WIRE_VERSION:
            assert exc.reason == "version"  # a future (or past) version is named as such, not "garbage"
        return
    assert v == wire.WIRE_VERSION


NUMBERS = st.sampled_from(ft.NASTY_FLOATS) | st.floats(allow_nan=True, allow_infinity=True)


@FAST
@given(qty=NUMBERS, price=st.none() | NUMBERS, sl=st.none() | NUMBERS, tp=st.none() | NUMBERS,
       version=st.integers(-5, 5), kind=st.sampled_from(["MARKET", "LIMIT", "STOP"]))  # fmt: skip
def test_order_intents_with_nasty_numbers_never_decode_to_an_invalid_order(
    qty: float, price: float | None, sl: float | None, tp: float | None, version: int, kind: str
) -> None:
    from marketcore.errors import DecodeError
    from marketcore.orders import codec
    from marketcore.orders.codec import UnsupportedVersion

    msg = {"msg": "submit_order", "client_order_id": "c-1", "symbol": "EURUSD", "side": "BUY", "qty": qty,
           "type": kind, "limit_price": price if kind == "LIMIT" else None,
           "stop_price": price if kind == "STOP" else None, "stop_loss": sl, "take_profit": tp}  # fmt: skip
    data = msgspec.msgpack.encode({"v": version, "m": msgspec.Raw(msgspec.msgpack.encode(msg))})
    try:
        order = codec.decode(data)
    except UnsupportedVersion:
        assert version != codec.ORDER_SCHEMA_VERSION
        return
    except DecodeError:
        return
    assert version == codec.ORDER_SCHEMA_VERSION
    assert math.isfinite(order.qty) and order.qty > 0  # type: ignore[union-attr]
    for v in (order.limit_price, order.stop_price, order.stop_loss, order.take_profit):  # type: ignore[union-attr]
        assert v is None or (math.isfinite(v) and v > 0)


@FAST
@given(
    version=st.integers(-(2**63), 2**64 - 1),
    body=st.dictionaries(st.text(max_size=6), st.none() | st.integers(-(2**63), 2**63 - 1) | NUMBERS),
)
def test_protocol_records_from_the_future_are_refused(version: int, body: dict[str, Any]) -> None:
    from tradehive import protocol as p

    data = msgspec.msgpack.encode({"v": version, "r": {"type": "signal", **body}})
    try:
        p.decode(data)
    except p.ProtocolError as exc:
        if version != p.PROTOCOL_VERSION and "version" not in str(exc):
            assert "undecodable" in str(exc)
        return
    assert version == p.PROTOCOL_VERSION


FIELDS = ["NS_PORT", "COMM_TIMEOUT", "REGISTER_INTERVAL", "STOP_TIMEOUT", "SNDHWM", "RCVHWM", "LINGER_MS",
          "MAX_MSG_SIZE", "HTTP_PORT", "PORT_BASE"]  # fmt: skip
VALUES = st.sampled_from(["nan", "NaN", "inf", "-inf", "-1", "0", "-0", "1e999", "", " ", "9" * 30, "0x10", "1_0",
                          "[]", "{}", "true"]) | st.text(max_size=8)  # fmt: skip


@FAST
@given(st.dictionaries(st.sampled_from(FIELDS), VALUES, min_size=1, max_size=4))
def test_settings_refuse_nan_inf_negative_and_out_of_range(env: dict[str, str]) -> None:
    _run("settings", "\n".join(f"AGENTCORE_{k}={v}" for k, v in env.items()).encode())


@FAST
@given(st.text(max_size=200))
def test_topology_text(text: str) -> None:
    _run("topology", text.encode())


@FAST
@given(st.lists(st.sampled_from(["call", "ps", "up", "stop", "shell", "keys", "init", "issue", "k8s-secret",
                                 "nameserver", "run", "history", "--speed", "--ns-port", "--json", "--help",
                                 "-1", "nan", "x", "--timeframe", "--symbols", "--price", "--last"])
                | st.text(max_size=6), max_size=6), st.booleans())  # fmt: skip
def test_cli_arguments(words: list[str], tradehive: bool) -> None:
    _run("cli", "\0".join(["tradehive" if tradehive else "agentcore", *words]).encode())


def test_regression_wire_header_kind_as_msgpack_ext() -> None:
    """Found by ``make fuzz``: an Ext object as the payload kind raised TypeError (unhashable), not WireError."""
    from agentcore import wire
    from agentcore.errors import WireError

    header = msgspec.msgpack.encode(
        {"v": 1, "k": msgspec.msgpack.Ext(1, b"x"), "t": "", "p": "c", "s": 1, "ns": 1}
    )
    with pytest.raises(WireError, match="kind"):
        wire.decode([b"c", header, b""])


def test_regression_binance_timestamp_beyond_int64_nanoseconds(tmp_path: Any) -> None:
    """Found by fuzzing: a millisecond timestamp past 2262 wrapped around int64 nanoseconds (or overflowed)."""
    from marketcore.errors import DataFormatError
    from marketcore.io.binance import read_binance_trades

    path = tmp_path / "t.json"
    for ts in (11609459200001, 160945920000159200001):
        path.write_bytes(
            b'[[1609459200000,"1",null,"buy",29000.5,0.01,290.0],[%d,"2",null,"sell",1.0,0.5,null]]' % ts
        )
        assert read_binance_trades(path, on_error="skip")["ts"].tolist() == [1609459200000 * 10**6]
        with pytest.raises(DataFormatError, match="out of range"):
            read_binance_trades(path, on_error="raise")


def test_regression_wire_dtype_that_numpy_parses_as_python() -> None:
    """Found by ``make fuzz``: numpy parses a descr such as ",f4" as Python and raised SyntaxError."""
    from agentcore import wire
    from agentcore.errors import WireError

    header = msgspec.msgpack.encode(
        {"v": 1, "k": "n", "t": "", "p": "t", "s": 3, "ns": 1, "d": ",f4", "sh": [2]}
    )
    with pytest.raises(WireError, match="dtype"):
        wire.decode([b"exec.trader", header, b"\x00" * 8])


def test_regression_wire_sequence_number_infinite() -> None:
    """Found by ``make fuzz``: a float infinity as the sequence number raised OverflowError in int()."""
    from agentcore import wire
    from agentcore.errors import WireError

    header = msgspec.msgpack.encode({"v": 1, "k": "b", "t": "", "p": "client", "s": float("-inf"), "ns": 1})
    with pytest.raises(WireError, match="mistyped"):
        wire.decode([b"t", header, b"bytes"])
