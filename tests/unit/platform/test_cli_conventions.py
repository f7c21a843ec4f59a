"""The command lines behave like the tools users know: choices refused with the valid values (exit 2), one-line
errors (exit 2), ``--version`` from the one version, completion, ``python -m``, JSON that parses, and the
platform config file (loaded, overridden by the environment, dumped back identically)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from agentcore.cli import app as agentcore_app
from tradehive.cli import app as tradehive_app
from typer.testing import CliRunner

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[3]
runner = CliRunner()


def _text(output: str) -> str:
    """Rich's error box unwrapped: one line, single spaces."""
    return " ".join(output.replace("│", " ").split())


def _py(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})  # fmt: skip


@pytest.mark.parametrize(
    ("app", "args", "valid"),
    [
        (tradehive_app, ["run", "--format", "csv"], ["auto", "lean", "binance"]),
        (tradehive_app, ["run", "--log-level", "loud"], ["debug", "info", "warning", "error"]),
        (tradehive_app, ["history", "EURUSD", "--price", "close"], ["bid", "ask", "mid", "last"]),
        (tradehive_app, ["history", "EURUSD", "--format", "xlsx"], ["csv", "json", "parquet"]),
        (tradehive_app, ["config", "dump", "--format", "ini"], ["toml", "yaml"]),
        (agentcore_app, ["shell", "--ui", "bpython"], ["auto", "ipython", "ptpython", "python"]),
    ],
)
def test_bad_choice_exits_2_with_the_valid_values(app: object, args: list[str], valid: list[str]) -> None:
    res = runner.invoke(app, args)  # type: ignore[arg-type]
    assert res.exit_code == 2, res.output
    text = _text(res.output)
    assert all(f"'{v}'" in text for v in valid), text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--speed", "fast"], "positive number or 'max'"),
        (["run", "--tz", "Mars/Olympus"], "IANA zone name"),
        (["run", "--timeframe", "7x"], "cannot parse timeframe"),
    ],
)
def test_bad_values_are_refused_by_the_one_parser(args: list[str], message: str) -> None:
    res = runner.invoke(tradehive_app, args)
    assert res.exit_code == 2 and message in _text(res.output), res.output


def test_missing_data_dir_is_one_line_and_exit_2(tmp_path: Path) -> None:
    res = _py("tradehive", "run", "--data", str(tmp_path / "missing"))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f"tradehive: data directory {tmp_path / 'missing'} does not exist"
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    res = _py("tradehive", "run", "--data", str(empty))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "no tick or trade files" in res.stderr


def test_bad_environment_is_one_line_exit_2_with_valid_values() -> None:
    res = _py("agentcore", "config", env={"AGENTCORE_TRANSPORT": "udp"})
    assert res.returncode == 2 and "valid: tcp, ipc" in res.stderr and "Traceback" not in res.stderr
    res = _py("tradehive", "config", "show", env={"TRADEHIVE_RUN_SPED": "2"})
    assert res.returncode == 2 and "TRADEHIVE_RUN_SPEED" in res.stderr


def test_version_from_one_place_and_python_m() -> None:
    version = (ROOT / "VERSION").read_text().strip()
    import tomllib

    members = sorted(ROOT.glob("libs/*/pyproject.toml")) + sorted(ROOT.glob("services/*/pyproject.toml"))
    assert len(members) >= 8
    for pyproject in members:
        project = tomllib.loads(pyproject.read_text())["project"]
        assert "version" not in project and "version" in project.get("dynamic", []), pyproject
        assert metadata.version(project["name"]) == version, project["name"]
        package = next(pyproject.parent.glob("src/*/__init__.py")).parent
        assert (package / "py.typed").exists(), package
    for prog in ("agentcore", "tradehive"):
        res = _py(prog, "--version")
        assert res.returncode == 0 and res.stdout.strip() == f"{prog} {version}", res


def test_completion_script_and_completions() -> None:
    script = _py("tradehive", env={"_TRADEHIVE_COMPLETE": "source_bash"})
    assert script.returncode == 0 and "complete" in script.stdout and "_TRADEHIVE_COMPLETE" in script.stdout
    res = _py("agentcore", env={"_AGENTCORE_COMPLETE": "complete_bash", "COMP_WORDS": "agentcore sh",
                                "COMP_CWORD": "1"})  # fmt: skip
    assert res.stdout.split() == ["shell"], res
    res = _py("tradehive", env={"_TRADEHIVE_COMPLETE": "complete_bash",
                                "COMP_WORDS": "tradehive history X --price ", "COMP_CWORD": "4"})  # fmt: skip
    assert res.stdout.split() == ["bid", "ask", "mid", "last"], res


def test_nameserver_keeps_old_option_spellings_hidden() -> None:
    res = runner.invoke(agentcore_app, ["nameserver", "--help"])
    assert "--ns-host" in res.output and "--ns-port" in res.output
    assert "--host " not in res.output and "--port " not in res.output


def test_config_json_parses() -> None:
    rows = json.loads(
        runner.invoke(agentcore_app, ["config", "--json"], env={"AGENTCORE_NS_PORT": "9999"}).output
    )
    by = {r["env"]: r for r in rows}
    assert by["AGENTCORE_NS_PORT"]["value"] == 9999 and by["AGENTCORE_NS_PORT"]["source"] == "environment"
    assert by["AGENTCORE_TRANSPORT"] == {"setting": "transport", "env": "AGENTCORE_TRANSPORT", "value": "tcp",
                                         "source": "default"}  # fmt: skip
    role = json.loads(
        runner.invoke(agentcore_app, ["config", "tradehive_feeder.agent:FeederAgent", "--json"]).output
    )
    assert any(r["env"] == "TRADEHIVE_FEEDER_SPEED" for r in role)


def test_config_file_loaded_overridden_by_env_and_dumped_identically(tmp_path: Path) -> None:
    from tradehive import config

    src = tmp_path / "platform.toml"
    src.write_text('speed = "10"\nsymbols = ["EURUSD"]\ntimeframe = "5m"\n'
                   '[roles.brain-trend.params]\nfast = 8\n')  # fmt: skip
    cfg, sources = config.load(src, environ={})
    assert (cfg.speed, cfg.symbols, cfg.timeframe) == ("10", ["EURUSD"], "5m")
    assert cfg.roles == {"brain-trend": {"params": {"fast": 8}}} and sources["speed"] == f"file {src}"
    cfg2, sources2 = config.load(src, environ={"TRADEHIVE_RUN_SPEED": "max", "TRADEHIVE_RUN_SYMBOLS": "A,B"})
    assert (
        cfg2.speed == "max" and cfg2.symbols == ["A", "B"] and sources2["speed"] == "env TRADEHIVE_RUN_SPEED"
    )
    cfg3, sources3 = config.load(src, {"speed": "2"}, environ={"TRADEHIVE_RUN_SPEED": "max"})
    assert cfg3.speed == "2" and sources3["speed"] == "command line"
    for fmt, suffix in (("toml", ".toml"), ("yaml", ".yaml")):
        first = tmp_path / f"dump1{suffix}"
        res = runner.invoke(tradehive_app, ["config", "dump", "--config", str(src), "--format", fmt,
                                            "--out", str(first)], env={})  # fmt: skip
        assert res.exit_code == 0, res.output
        assert config.load(first, environ={})[0] == cfg  # read back: the same settings
        again = runner.invoke(tradehive_app, ["config", "dump", "--config", str(first), "--format", fmt])
        assert again.stdout == first.read_text()  # dumped back identically
    topo_cfg, _ = config.load(src, environ={})
    from tradehive.platform import from_config

    topo = from_config(topo_cfg)
    assert topo.agents["brain-trend"].config["params"] == {"fast": 8}
    assert topo.agents["brain-trend"].config["timeframe"] == "5m"


def test_bad_config_file_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("speeed: 3\n")
    res = _py("tradehive", "run", "--config", str(bad))
    assert res.returncode == 2 and "speeed" in res.stderr and "Traceback" not in res.stderr


def test_demo_settings_only_on_the_default_simulator(tmp_path: Path) -> None:
    from tradehive.platform import DEMO_TIMEFRAME, build_topology

    demo = build_topology()
    assert demo.agents["brain-trend"].config["timeframe"] == DEMO_TIMEFRAME
    assert demo.agents["brain-trend"].config["params"] == {"fast": 5, "slow": 13}
    chosen = build_topology(timeframe="1m")
    assert chosen.agents["brain-trend"].config["params"] == {}


def _bars(n: int = 5) -> np.ndarray:
    from marketcore.schema import BAR_DTYPE

    bars = np.zeros(n, dtype=BAR_DTYPE)
    bars["ts"] = 1_399_507_200_000_000_000 + np.arange(n) * 60_000_000_000
    for i, k in enumerate(("open", "high", "low", "close")):
        bars[k] = 1.1 + np.arange(n) * 1e-4 + (0.0003, 0.0005, -0.0002, 0.0001)[i]
    bars["volume"] = np.arange(n) + 0.5
    bars["count"] = np.arange(n) + 3
    return bars


def test_history_formats_round_trip(tmp_path: Path) -> None:
    import csv

    import pyarrow.parquet as pq
    from tradehive import export

    bars = _bars()
    export.write(bars, "csv", str(tmp_path / "b.csv"))
    export.write(bars, "json", str(tmp_path / "b.json"))
    export.write(bars, "parquet", str(tmp_path / "b.parquet"))
    rows = list(csv.DictReader((tmp_path / "b.csv").open()))
    data = json.loads((tmp_path / "b.json").read_text())
    table = pq.read_table(tmp_path / "b.parquet")
    assert list(rows[0]) == list(export.COLUMNS) == list(data[0]) == table.column_names
    assert [int(r["ts_ns"]) for r in rows] == [d["ts_ns"] for d in data] == table["ts_ns"].to_pylist()
    assert table["close"].to_pylist() == [float(x) for x in bars["close"]] == [d["close"] for d in data]
    assert str(table.schema.field("time").type) == "timestamp[ns, tz=UTC]"
    assert data[0]["time"] == "2014-05-08T00:00:00.000Z"
