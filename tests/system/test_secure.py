"""The secured platform in containers (issue 12): compose with deploy/docker-compose.secure.yml, keys from
``agentcore keys init`` mounted, replays real FXCM data to fills; then strangers try it.

One stack. From the host: the name server's published port refuses a client without a certificate, and every
count is read from the agents' published /metrics. From a container joined to the stack's network but not part
of it (the way a foreign process on a cluster network would come; the agents' Pyro and ZeroMQ ports are not
published on the host): a peer without keys is refused by the trader's Pyro daemon, its order socket and the
router's market data (nothing reaches it; each refusal counted in ``agentcore_security_refused_total``); a brain's
certificate reads the trader's status but cannot call its control methods (``not_operator``); an operator
engages and releases the kill switch (seen in ``tradehive_trader_kill_switch``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, Stack, run, wait_for
from .test_faults import DATA, metric

pytestmark = pytest.mark.timeout(900)
OVERRIDES = (
    ROOT / "deploy" / "docker-compose.secure.yml",
    ROOT / "deploy" / "docker-compose.eventtime.yml",
    Path(__file__).with_name("compose.determinism.yml"),
)
AGENTS = ("feeder", "router", "brain-regime", "brain-trend", "trader")
ENV = {"TRADEHIVE_REPLAY_START": "2014-05-08T12:30:00", "TRADEHIVE_REPLAY_END": "2014-05-08T12:50:00",
       "TRADEHIVE_REPLAY_SPEED": "max"}  # fmt: skip
CONTROL = (("kill_switch", [True, "intruder"]), ("set_attr", ["counts", {}]), ("stop", []))

# Run in a container on the stack's network with the operator's and a brain's identities (never the CA key).
STRANGER = r"""
import json, zmq, Pyro5.api
from agentcore import naming, security, wire
KEYS, out = "/keys", {}

def proxy(uri):
    p = Pyro5.api.Proxy(uri)
    p._pyroTimeout = 10
    return p

security.configure_process(KEYS, "operator")
ns = naming.locate("nameserver", 9090)
uri = str(ns.lookup("trader"))
orders = naming.parse_endpoint_tags(ns.lookup("trader", return_metadata=True)[1])["orders"][1]
market = naming.parse_endpoint_tags(ns.lookup("router", return_metadata=True)[1])["market"][1]

security.deconfigure()  # a peer without keys
try:
    out["nokey_pyro"] = "answered: %s" % proxy(uri).status()["name"]
except Exception as exc:
    out["nokey_pyro"] = "refused: " + type(exc).__name__
ctx = zmq.Context()
dealer, sub = ctx.socket(zmq.DEALER), ctx.socket(zmq.SUB)
dealer.linger = sub.linger = 0
sub.setsockopt(zmq.SUBSCRIBE, b"")
dealer.connect(orders)
sub.connect(market)
dealer.send_multipart(wire.encode("", b"buy everything", sender="intruder", seq=1))
out["nokey_market_messages"] = int(sub.poll(4000) != 0)
out["nokey_order_acks"] = int(dealer.poll(500) != 0)

security.configure_process(KEYS, "brain")  # an agent's certificate
out["brain_status"] = proxy(uri).status()["name"]
for method, args in json.loads(__import__("sys").argv[1]):
    try:
        getattr(proxy(uri), method)(*args)
        out[method] = "allowed"
    except Exception as exc:
        out[method] = str(exc)[:200]

security.configure_process(KEYS, "operator")
out["operator_kill_switch"] = proxy(uri).kill_switch(True, "operator test")
out["operator_status"] = proxy(uri).status()["kill_switch"]
print(json.dumps(out))
"""


def refused(port: int, socket: str, *reasons: str) -> float:
    total = 0.0
    for reason in reasons:
        try:
            total += metric(port, "agentcore_security_refused_total", socket=socket, reason=reason)
        except AssertionError:  # no sample for this reason yet
            pass
    return total


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("keys") / "keys"
    run(["uv", "run", "--frozen", "agentcore", "keys", "init", str(out), "--policy",
         str(ROOT / "deploy" / "security" / "policy.yaml")], timeout=180, cwd=ROOT)  # fmt: skip
    if os.geteuid() != 0:
        pytest.skip("the images' user (10001) must own the private keys: chown needs root")
    run(["chown", "-R", "10001:10001", str(out / "identities")], timeout=30)
    return out


def stranger(stack: Stack, image: str, keys: Path) -> dict[str, Any]:
    mounts = [f"{keys}/ca.crt:/keys/ca.crt:ro", f"{keys}/policy.yaml:/keys/policy.yaml:ro",
              f"{keys}/public:/keys/public:ro", f"{keys}/identities/operator:/keys/identities/operator:ro",
              f"{keys}/identities/brain:/keys/identities/brain:ro"]  # fmt: skip
    cmd = ["docker", "run", "--rm", "--network", stack.network, "--entrypoint", "python"]
    for m in mounts:
        cmd += ["-v", m]
    proc = run([*cmd, image, "-c", STRANGER, json.dumps(CONTROL)], timeout=180)
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_secured_stack_replays_to_fills_and_refuses_strangers(stack_factory, images, keys: Path) -> None:
    if not (DATA / "tick" / "eurusd").is_dir():
        pytest.skip(f"no recorded FXCM ticks at {DATA} (set TRADEHIVE_DATA)")
    env = {"TRADEHIVE_DATA_DIR": str(DATA), "TRADEHIVE_KEYS": str(keys), **ENV}
    stack = stack_factory(replay=True, env=env, overrides=OVERRIDES)
    stack.up("nameserver", *AGENTS)
    port = {a: stack.port(a, 9100) for a in AGENTS}
    wait_for(
        lambda: metric(port["feeder"], "tradehive_feeder_replay_progress_ratio") == 1.0, 400, 2, "replay done"
    )
    fills = wait_for(
        lambda: metric(port["trader"], "tradehive_trader_fills_total"), 120, 2, "fills with security on"
    )
    assert fills >= 1

    # from the host: the name server (published) refuses a client without a certificate
    import Pyro5.api

    ns = Pyro5.api.Proxy(f"PYRO:Pyro.NameServer@127.0.0.1:{stack.port('nameserver', 9090)}")
    ns._pyroTimeout = 5.0
    with pytest.raises(Exception):  # noqa: B017 - TLS refuses the handshake (ssl or Pyro error)
        ns.ping()

    out = stranger(stack, images["trader"], keys)
    assert out["nokey_pyro"].startswith("refused"), out
    assert out["nokey_market_messages"] == 0 and out["nokey_order_acks"] == 0, out
    assert out["brain_status"] == "trader"
    for method, _args in CONTROL:
        assert "needs an operator certificate" in out[method], (method, out[method])
    assert out["operator_kill_switch"] is True and out["operator_status"] is True
    assert metric(port["trader"], "tradehive_trader_kill_switch") == 1.0
    nokey = ("no_curve", "handshake")
    wait_for(
        lambda: refused(port["trader"], "orders", *nokey) >= 1, 30, 1, "trader: keyless order peer counted"
    )
    wait_for(
        lambda: refused(port["router"], "market", *nokey) >= 1, 30, 1, "router: keyless subscriber counted"
    )
    assert refused(port["trader"], "pyro", "tls", "no_client_cert", "bad_certificate") >= 1
    assert refused(port["trader"], "pyro", "not_operator") == len(CONTROL)
    assert metric(port["trader"], "agentcore_up") == 1.0  # the intruder's "stop" did nothing
