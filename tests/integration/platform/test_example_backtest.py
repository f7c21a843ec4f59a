"""The guide's path, run as a user runs it: ``tradehive backtest --strategy examples/bollinger_rsi.py:BollingerRsi``
on a short real FXCM window (the real agents, a recorder, the report), then the report opened in headless
Chromium with every embedded plot checked for drawn content. One backtest serves both tests (~30 s)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = "examples/bollinger_rsi.py:BollingerRsi"
# 15 minutes of EURUSD around the ECB press conference (2014-05-08) on 1-second bars: ~40 orders
WINDOW = [
    "--symbols",
    "EURUSD",
    "--start",
    "2014-05-08T12:30",
    "--end",
    "2014-05-08T12:45",
    "--timeframe",
    "1s",
]


@pytest.fixture(scope="module")
def report(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("example") / "report"
    cmd = [sys.executable, "-m", "tradehive", "backtest", "--strategy", EXAMPLE, "--param", "max_bars=20",
           "--data", str(data_dir / "fxcm" / "tick"), *WINDOW, "--out", str(out)]  # fmt: skip
    t0 = time.monotonic()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=200, env=os.environ.copy())
    assert res.returncode == 0, res.stderr[-3000:]
    print(f"example backtest: {time.monotonic() - t0:.1f} s wall")
    (out / "stdout.txt").write_text(res.stdout)  # the comparison table
    return out


def test_backtest_of_the_example_file_trades_and_reports(report: Path) -> None:
    lines = [json.loads(line) for line in (report / "order_log.jsonl").read_text().splitlines()]
    submits = [r for r in lines if r["msg"] == "submit_order"]
    fills = [r for r in lines if r["msg"] == "order_filled"]
    entries = [r for r in submits if r.get("stop_loss") is not None]
    assert len(entries) >= 5 and len(fills) >= 10, (len(entries), len(fills))
    assert all(
        r["strategy_id"] == "brain-trend" for r in submits
    )  # the file's strategy ran in the trend brain
    assert all(r["qty"] == 10_000.0 for r in entries)  # EURUSD's default order size
    for r in entries:  # bracket: stop on the losing side, target (the middle band) on the winning side
        assert (
            (r["stop_loss"] < r["take_profit"]) if r["side"] == "BUY" else (r["stop_loss"] > r["take_profit"])
        )
    stats = json.loads((report / "stats.json").read_text())
    assert stats["meta"]["strategy"] == EXAMPLE and stats["meta"]["params"] == "max_bars=20"
    assert stats["stats"][0]["trades"] > 0
    assert (report / "report.html").is_file() and (report / "trades.csv").is_file()
    table = (report / "stdout.txt").read_text()  # printed to a pipe: every cell whole, not cut to 80 columns
    assert "max_bars=20" in table and f"{stats['stats'][0]['net_pnl']:,.2f}" in table and "…" not in table


# -- the HTML report in a real browser ---------------------------------------------------------------------------
_PROBE = """<script>
window.addEventListener("load", () => {
  const rects = [...document.querySelectorAll("img.plot")].map(i => {
    const r = i.getBoundingClientRect();
    return {alt: i.alt, x: r.x, y: r.y, w: r.width, h: r.height, loaded: i.complete && i.naturalWidth > 0};
  });
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify({rects, height: document.documentElement.scrollHeight});
  document.body.appendChild(pre);
});
</script></body>"""
WIDTH = 1280


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    return found


def _browse(chromium: str, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1",
           "--virtual-time-budget=5000", *args, page.as_uri()]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


def _inked(region: np.ndarray) -> tuple[float, int]:
    """(grey-level standard deviation, number of coloured pixels) of an RGB region."""
    rgb = region[..., :3].astype(np.int16)
    colourful = int(((rgb.max(axis=-1) - rgb.min(axis=-1)) > 60).sum())
    return float(rgb.mean(axis=-1).std()), colourful


def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    from PIL import Image

    chromium = _chromium()
    page = tmp_path / "report.html"  # the report plus a probe that writes where each plot was laid out
    page.write_text((report / "report.html").read_text().replace("</body>", _PROBE))
    dom = _browse(chromium, page, f"--window-size={WIDTH},1000", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    probe_text = dom.stdout.split('<pre id="probe">', 1)[1].split("</pre>", 1)[0]
    probe = json.loads(probe_text.replace("&quot;", '"').replace("&amp;", "&"))
    rects = probe["rects"]
    assert [r["alt"] for r in rects] == ["equity and drawdown", "trades on EURUSD"]
    assert all(r["loaded"] and r["w"] > 400 and r["h"] > 200 for r in rects), rects  # the PNGs decoded
    shot = tmp_path / "report.png"
    height = int(probe["height"]) + 20
    res = _browse(chromium, page, f"--window-size={WIDTH},{height}", f"--screenshot={shot}")
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[0] >= height - 20 and pixels.shape[1] == WIDTH
    for r in rects:
        x0, y0, x1, y1 = int(r["x"]), int(r["y"]), int(r["x"] + r["w"]), int(r["y"] + r["h"])
        # the inner part of the plot, away from titles and tick labels: lines, fills and markers in colour
        inner = pixels[y0 + (y1 - y0) // 8 : y1 - (y1 - y0) // 5, x0 + (x1 - x0) // 10 : x1 - (x1 - x0) // 20]
        std, colourful = _inked(inner)
        assert std > 10 and colourful > 500, (r["alt"], std, colourful)
    # beside the plots, where the page is empty: what a blank region scores (so the check above can fail)
    right = int(max(r["x"] + r["w"] for r in rects)) + 10
    assert right < WIDTH - 50
    blank = pixels[int(rects[0]["y"]) : int(rects[-1]["y"] + rects[-1]["h"]), right : WIDTH - 10]
    assert _inked(blank) == (0.0, 0)
