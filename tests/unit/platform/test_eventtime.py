"""BrainInbox: bars, signals and fills handled in decision-time order whatever order they arrived in."""

from __future__ import annotations

import itertools

from tradehive.eventtime import ROUTER, BrainInbox


def _run(arrivals):
    seen: list[str] = []
    marks: list[int] = []
    inbox = BrainInbox(["regime"], lambda s, ts: marks.append(ts), trader="trader")
    for kind, up, d, name in arrivals:
        if kind == "item":
            inbox.put(up, "EURUSD", d, seen.append, name)
        else:
            inbox.watermark(up, "EURUSD", d)
    return seen, marks


ITEMS = [
    ("item", ROUTER, 60, "bar60"), ("item", ROUTER, 120, "bar120"), ("wm", ROUTER, 125, ""),
    ("item", "regime", 60, "sig60"), ("wm", "regime", 125, ""),
    ("item", "trader", 90, "fill90"), ("wm", "trader", 119, ""),
]  # fmt: skip


def test_every_arrival_order_gives_the_same_handling_order():
    """Per upstream the order is fixed (a socket keeps it); across upstreams any interleaving may happen."""
    streams = {u: [a for a in ITEMS if a[1] == u] for u in (ROUTER, "regime", "trader")}
    results = set()
    for order in itertools.permutations([ROUTER] * 3 + ["regime"] * 2 + ["trader"] * 2):
        pos = dict.fromkeys(streams, 0)
        arrivals = []
        for u in order:
            arrivals.append(streams[u][pos[u]])
            pos[u] += 1
        seen, _ = _run(arrivals)
        results.add(tuple(seen))
    # a signal of the same time before the bar; a fill before the next bar; everything handled
    assert results == {("sig60", "bar60", "fill90", "bar120")}


def test_the_watermark_excludes_the_trader_and_waits_for_pending_items():
    seen, marks = _run([("item", ROUTER, 60, "bar60"), ("wm", ROUTER, 70, ""), ("wm", "regime", 70, "")])
    assert seen == []  # bar60 waits for the trader's fills before 60
    assert marks == [59]  # every decision before 60 is taken: the trader may fill up to there (no cycle)
    seen, marks = _run([("item", ROUTER, 60, "bar60"), ("wm", ROUTER, 70, ""), ("wm", "regime", 70, ""),
                        ("wm", "trader", 59, "")])  # fmt: skip
    assert seen == ["bar60"] and marks[-1] == 70


def test_trader_gate_without_brains_takes_decisions_without_error():
    """A trader without event time (no sync brains) must accept stamped decisions: the gate is a no-op."""
    from tradehive.eventtime import TraderGate

    sent: list[tuple] = []

    class _Agent:
        name = "trader"

        def send(self, *a, **k):
            sent.append((a, k))

        def every(self, *a):
            raise AssertionError("no timer without a hold limit")

        def at_pass_end(self, fn):
            hooks.append(fn)

    hooks: list = []
    released: list[str] = []
    gate = TraderGate(_Agent(), [], lambda s, t, o: released.append(s), "events")
    ran: list[str] = []
    gate.on_decision("brain-trend", "EURUSD", 1_000, "c-1", lambda: ran.append("c-1"))
    gate.on_watermark("brain-trend", "EURUSD", 2_000)
    for fn in hooks:  # the loop's pass ends
        fn()
    assert sent == [] and released == [] and ran == ["c-1"]  # run at once
