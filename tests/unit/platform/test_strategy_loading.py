"""A strategy named as ``path/file.py:Class``, ``module:Class`` or a built-in name loads the same way for the brain,
``tradehive backtest`` and ``tradehive run`` (file or ``--strategy``); a missing file, a missing class or
something that is not a strategy is one clear line (exit 2 on the command line)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from agentcore.errors import ConfigError
from tradehive.loader import StrategyLoadError, check_params, is_file_ref, load_strategy_class, resolve
from tradehive.strategy import Strategy

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = "examples/bollinger_rsi.py:BollingerRsi"

USER_FILE = """
from tradehive.strategy import Strategy

class Mine(Strategy):
    name = "mine"
    defaults = {"n": 3}

def helper():
    return 1

class NotAStrategy:
    pass
"""


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    f = tmp_path / "my_strategy.py"
    f.write_text(USER_FILE)
    return f


def test_file_module_and_builtin_refs_load(user_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cls = load_strategy_class(f"{user_file}:Mine")
    assert issubclass(cls, Strategy) and cls.name == "mine" and cls.defaults == {"n": 3}
    assert load_strategy_class(f"{user_file}:Mine") is cls  # imported once per file
    monkeypatch.chdir(ROOT)
    assert load_strategy_class(EXAMPLE).name == "bollinger_rsi"  # relative to the working directory
    from tradehive_brain.strategies import BUILTIN, EmaCross

    assert load_strategy_class("tradehive_brain.strategies:EmaCross") is EmaCross
    assert load_strategy_class("ema_cross", BUILTIN) is EmaCross


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("{dir}/nope.py:Mine", "does not exist"),
        ("{file}:Missing", "has no 'Missing'; strategy classes there: Mine"),
        ("{file}:helper", "is a function, not a subclass of tradehive.strategy.Strategy"),
        ("{file}:NotAStrategy", "is a type, not a subclass"),
        ("no_such_module_xyz:Thing", "cannot be imported"),
        ("wobble", "module:Class, or path/to/file.py:Class"),
        ("{dir}/broken.py:X", "failed to import: ZeroDivisionError"),
    ],
)
def test_bad_refs_say_why(user_file: Path, ref: str, message: str) -> None:
    (user_file.parent / "broken.py").write_text("1 / 0\n")
    with pytest.raises(StrategyLoadError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_strategy_class(ref.format(dir=user_file.parent, file=user_file))


def test_refs_resolve_to_absolute_files_only(tmp_path: Path) -> None:
    assert is_file_ref("examples/x.py:C") and is_file_ref("/abs/x.py:C") and is_file_ref("x.py:C")
    assert not is_file_ref("pkg.mod:C") and not is_file_ref("ema_cross")
    assert resolve("examples/x.py:C", tmp_path) == f"{tmp_path}/examples/x.py:C"
    assert resolve("pkg.mod:C", tmp_path) == "pkg.mod:C" and resolve("regime") == "regime"
    with pytest.raises(StrategyLoadError, match=r"has no parameter\(s\) \['fats'\]"):
        check_params(load_strategy_class(f"{ROOT / EXAMPLE}"), {"fats": 1})


def test_run_strategy_option_and_role_override_reach_the_brain(user_file: Path) -> None:
    from tradehive import config
    from tradehive.platform import build_topology, from_config

    cfg, sources = config.load(None, {"strategy": f"{user_file}:Mine"}, environ={})
    config.validate(cfg)
    trend = from_config(cfg).agents["brain-trend"].config
    # the demo's EMA periods belong to ema_cross: another strategy gets only its own parameters
    assert trend["strategy"] == f"{user_file}:Mine" and trend["params"] == {}
    assert sources["strategy"] == "command line"
    role, _ = config.load(None, {"roles": {"brain-trend": {"strategy": f"{user_file}:Mine", "params": {"n": 5}}}},
                          environ={})  # fmt: skip
    config.validate(role)
    trend = from_config(role).agents["brain-trend"].config
    assert trend["strategy"] == f"{user_file}:Mine" and trend["params"] == {"n": 5}
    assert build_topology().agents["brain-trend"].config["params"] == {"fast": 5, "slow": 13}  # the demo's
    bad, _ = config.load(None, {"roles": {"brain-trend": {"strategy": f"{user_file}:Mine", "params": {"m": 1}}}},
                         environ={})  # fmt: skip
    with pytest.raises(ConfigError, match=r"roles.brain-trend.strategy: .*no parameter\(s\) \['m'\]"):
        config.validate(bad)
    missing, _ = config.load(None, {"strategy": "gone.py:X"}, environ={})
    with pytest.raises(ConfigError, match="strategy: strategy file 'gone.py' does not exist"):
        config.validate(missing)


def test_cli_refuses_a_bad_strategy_before_starting_anything(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tradehive.cli import app
    from typer.testing import CliRunner

    monkeypatch.chdir(ROOT)
    ticks = str(data_dir / "fxcm" / "tick")
    res = CliRunner().invoke(app, ["backtest", "--data", ticks, "--strategy", "examples/nope.py:X", "--out",
                                   str(tmp_path / "r")])  # fmt: skip
    assert res.exit_code == 2 and "strategy file 'examples/nope.py' does not exist" in res.stderr, res.output
    res = CliRunner().invoke(app, ["backtest", "--data", ticks, "--strategy", EXAMPLE, "--sweep", "perod=10,20",
                                   "--out", str(tmp_path / "r")])  # fmt: skip
    assert res.exit_code == 2 and "no parameter(s) ['perod']" in res.stderr, res.output
    assert not (tmp_path / "r").exists()
    # `tradehive run` as a user runs it: a config error is one line on stderr, exit 2
    res2 = subprocess.run([sys.executable, "-m", "tradehive", "run", "--strategy", "examples/bollinger_rsi.py:Nope"],
                          capture_output=True, text=True, timeout=90, cwd=ROOT, env=os.environ.copy())  # fmt: skip
    assert res2.returncode == 2, res2.stderr
    assert (
        "has no 'Nope'; strategy classes there: BollingerRsi" in res2.stderr
        and "Traceback" not in res2.stderr
    )
