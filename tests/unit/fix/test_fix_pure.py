"""The FIX adapter's pure parts: settings and secrets, message parsing, timestamps, the journal, and what the
venue answers at once without a session (the engine-backed behaviour is in tests/integration/fix)."""

from __future__ import annotations

from pathlib import Path

import pytest
from marketcore.orders import CancelOrder, ClientOrderId, OrderSide, OrderType, SubmitOrder
from tradehive_fix.codec import parse_utc_timestamp, utc_timestamp
from tradehive_fix.config import Credentials, FixSessionConfig, load_config, quickfix_settings
from tradehive_fix.errors import FixConfigError, FixError
from tradehive_fix.journal import JDone, JExec, JOrder, Journal
from tradehive_fix.message import FixMessage
from tradehive_fix.venue import FixVenue

BASE = {"port": "9878", "sender_comp_id": "ME", "target_comp_id": "BROKER", "data_dir": "/tmp/x"}


def test_settings_from_options_env_and_file(tmp_path: Path) -> None:
    f = tmp_path / "fix.toml"
    f.write_text('heartbeat_s = 15\nreplace = "cancel_new"\n')
    env = {"TRADEHIVE_FIX_CONFIG_FILE": str(f), "TRADEHIVE_FIX_PORT": "9999", "TRADEHIVE_FIX_TIF_MAP": "GTC=DAY",
           "TRADEHIVE_FIX_PASSWORD": "s3cret", "TRADEHIVE_FIX_USERNAME": "me"}  # fmt: skip
    cfg, creds = load_config(BASE, env=env)
    assert (cfg.port, cfg.heartbeat_s, cfg.replace, cfg.tif_map) == (9999, 15, "cancel_new", {"GTC": "DAY"})
    assert creds.password == "s3cret" and "s3cret" not in repr(creds) and "s3cret" not in repr(cfg)
    assert "s3cret" not in quickfix_settings(cfg)


def test_secrets_only_from_env_or_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    _, creds = load_config(BASE, env={"TRADEHIVE_FIX_PASSWORD_FILE": str(secret)})
    assert creds == Credentials("", "from-file")
    f = tmp_path / "fix.json"
    f.write_text('{"password": "oops"}')
    with pytest.raises(FixConfigError, match="secret"):
        load_config(BASE, env={"TRADEHIVE_FIX_CONFIG_FILE": str(f)})


def test_bad_settings_fail_loudly() -> None:
    with pytest.raises(FixConfigError, match="unknown setting TRADEHIVE_FIX_PROT"):
        load_config(BASE, env={"TRADEHIVE_FIX_PROT": "1"})
    with pytest.raises(FixConfigError, match="data_dir is required"):
        load_config({**BASE, "data_dir": ""}, env={})
    with pytest.raises(FixConfigError, match="tif_map"):
        FixSessionConfig(port=1, sender_comp_id="a", target_comp_id="b", data_dir="d", tif_map={"GTC": "FOK"})


def test_message_parse_and_groups() -> None:
    raw = "\x01".join(["8=FIX.4.4", "9=99", "35=X", "34=7", "43=Y", "52=20140508-12:00:00.123", "268=2",
                       "279=1", "269=0", "55=EURUSD", "270=1.39", "279=1", "269=1", "55=EURUSD", "270=1.3901",
                       "10=000", ""])  # fmt: skip
    m = FixMessage.parse(raw)
    assert (m.msg_type, m.seq, m.poss_dup) == ("X", 7, True)
    entries = list(m.group(268, 279))
    assert [(e[269], e[270]) for e in entries] == [("0", "1.39"), ("1", "1.3901")]
    assert m.float(270) == 1.39 and m.get(999) is None
    with pytest.raises(FixError, match="lacks tag 11"):
        m.require(11)


def test_timestamps_round_trip_at_the_boundary() -> None:
    ns = 1_399_550_400_123_000_000
    assert utc_timestamp(ns) == "20140508-12:00:00.123"
    assert parse_utc_timestamp("20140508-12:00:00.123") == ns
    assert parse_utc_timestamp("20140508-12:00:00.123456789") == ns + 456_789
    with pytest.raises(FixError):
        parse_utc_timestamp("2014-05-08 12:00")


def test_journal_survives_a_torn_line(tmp_path: Path) -> None:
    j = Journal(tmp_path / "orders.jsonl")
    cmd = SubmitOrder(ClientOrderId("a"), "EURUSD", OrderSide.BUY, 1000.0, OrderType.LIMIT, limit_price=1.1)
    j.write(JOrder(cmd, "a"))
    j.write(JExec("X-1", "a", "EURUSD", 400.0))
    j.close()
    with open(tmp_path / "orders.jsonl", "ab") as fh:
        fh.write(b'{"msg": "done", "ci')  # killed mid-write
    again = Journal(tmp_path / "orders.jsonl")
    recs = again.records()
    assert [type(r).__name__ for r in recs] == ["JOrder", "JExec"] and again.bad_lines == 1
    assert not any(isinstance(r, JDone) for r in recs)


def test_venue_restores_from_its_journal_and_refuses_while_offline(tmp_path: Path) -> None:
    cfg = FixSessionConfig(port=1, sender_comp_id="ME", target_comp_id="B", data_dir=str(tmp_path))
    j = Journal(tmp_path / "orders.jsonl")
    cmd = SubmitOrder(ClientOrderId("a"), "EURUSD", OrderSide.BUY, 1000.0, OrderType.LIMIT, limit_price=1.1)
    j.write(JOrder(cmd, "a"))
    j.write(JExec("B-1", "a", "EURUSD", 400.0))
    j.close()
    venue = FixVenue(cfg)  # not started: no session
    try:
        assert venue.positions() == {"EURUSD": 400.0}
        [working] = venue.open_orders()
        assert (working.client_order_id, working.filled_qty) == ("a", 400.0)
        out = venue.submit(SubmitOrder(ClientOrderId("b"), "EURUSD", OrderSide.SELL, 1.0), 5)
        assert type(out[0]).__name__ == "OrderRejected" and out[0].reason == "FIX session not logged on"
        dup = venue.submit(cmd, 5)
        assert "duplicate" in dup[0].reason
        assert (
            type(venue.cancel(CancelOrder(ClientOrderId("zz"), "EURUSD"), 5)[0]).__name__
            == "OrderCancelRejected"
        )
    finally:
        venue.journal.close()
