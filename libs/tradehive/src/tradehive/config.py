"""The platform's settings as a file: what ``tradehive run --config FILE`` loads and ``tradehive config dump`` writes.

Precedence, lowest first: built-in defaults, the file (TOML or YAML), ``TRADEHIVE_RUN_*`` environment variables,
command-line options. ``roles`` holds per-agent config merged over what :func:`tradehive.platform.build_topology`
derives (e.g. ``[roles.brain-trend.params] fast = 8``, ``[roles.trader] max_position = 5``).

Example (TOML)::

    speed = "10"
    symbols = ["EURUSD"]
    [roles.brain-trend.params]
    fast = 8
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec
import tomli_w
import yaml
from agentcore import settings as settings_mod
from agentcore.errors import ConfigError
from agentcore.settings import LogLevel

ENV_PREFIX = "TRADEHIVE_RUN_"
DataFormat = Literal["auto", "lean", "binance"]
FileFormat = Literal["toml", "yaml"]


class PlatformConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything ``tradehive run`` needs; each field is also an option (``--speed``) and a variable
    (``TRADEHIVE_RUN_SPEED``)."""

    data: str = ""  # directory of recorded data; empty: the built-in simulator
    format: DataFormat = "auto"
    tz: str = ""  # the data's clock: an IANA zone or a fixed offset; empty: the format's default
    symbols: list[str] = []  # empty: every symbol found (replay) / the simulator's
    speed: str = "1"  # 1 (real time), N (N x real time) or max
    timeframe: str = ""  # bars the brains trade on; empty: 1s on the simulator (the demo), 1m on replays
    strategy: str = ""  # the trading brain's strategy: built-in name, module:Class or path/file.py:Class
    exit_at_end: bool = False
    record: str = ""  # a directory: record the session there (tradehive replay --recording DIR replays it)
    security_dir: str = ""  # keys directory (agentcore keys init): CurveZMQ + Pyro5 TLS on; empty: off
    ns_host: str = "127.0.0.1"
    ns_port: int = 9090
    log_level: LogLevel = "warning"
    roles: dict[str, dict[str, Any]] = {}  # per-agent config merged over the derived one


def read_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a TOML (``.toml``) or YAML (anything else) file."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text) if p.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"config file {p} is not valid {'TOML' if p.suffix == '.toml' else 'YAML'}: {exc}"
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold a mapping of settings")
    return data


def load(
    path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[PlatformConfig, dict[str, str]]:
    """The effective config and, per setting, where it came from (``default``, the file, ``env NAME``,
    ``command line``)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if path is not None:
        from_file = read_file(path)
        values.update(from_file)
        sources.update({k: f"file {path}" for k in from_file})
        settings_mod.build(PlatformConfig, values, source=f"config file {path}")  # names the file on errors
    env_values: dict[str, Any] = {
        k[len(ENV_PREFIX) :].lower(): v for k, v in env.items() if k.startswith(ENV_PREFIX)
    }
    fields = {f.name for f in msgspec.structs.fields(PlatformConfig)}
    unknown = sorted(ENV_PREFIX + k.upper() for k in env_values if k not in fields)
    if unknown:
        valid = ", ".join(ENV_PREFIX + f.upper() for f in sorted(fields))
        raise ConfigError(f"unknown environment variable(s) {', '.join(unknown)}; valid: {valid}")
    if isinstance(env_values.get("symbols"), str) and not env_values["symbols"].startswith("["):
        env_values["symbols"] = [x for x in env_values["symbols"].split(",") if x]  # EURUSD,GBPUSD
    values.update(env_values)
    sources.update({k: f"env {ENV_PREFIX}{k.upper()}" for k in env_values})
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    values.update(given)
    sources.update({k: "command line" for k in given})
    cfg = settings_mod.build(PlatformConfig, values, source="settings")
    return cfg, {f: sources.get(f, "default") for f in sorted(fields)}


def dump(cfg: PlatformConfig, fmt: FileFormat = "toml") -> str:
    """``cfg`` as a file :func:`load` reads back to an equal config (every setting written, defaults too)."""
    data = msgspec.to_builtins(cfg)
    if fmt == "toml":
        return tomli_w.dumps(data)
    return str(yaml.safe_dump(data, sort_keys=False))


def validate(cfg: PlatformConfig) -> None:
    """Check values a type cannot: the data directory, speed, timeframe and zone, each with marketcore's own
    parser; raises :class:`~agentcore.errors.ConfigError` (one line, exit 2 on the command line)."""
    from marketcore.bars.timeframe import Timeframe
    from marketcore.errors import MarketcoreError
    from marketcore.io.timezone import parse_tz
    from marketcore.sources.pacer import parse_speed

    if cfg.data and not Path(cfg.data).is_dir():
        raise ConfigError(f"data directory {cfg.data} does not exist")
    try:
        parse_speed(cfg.speed)
        if cfg.timeframe:
            Timeframe.parse(cfg.timeframe)
        if cfg.tz:
            parse_tz(cfg.tz)
    except (MarketcoreError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc
    check_strategies(cfg)


def check_strategies(cfg: PlatformConfig) -> None:
    """Load every strategy named as ``module:Class`` or ``file.py:Class`` (``strategy``, ``roles.*.strategy``)
    and check its parameters, so a typo is one line before any agent starts (built-in names are the brain's
    to check)."""
    from tradehive.loader import StrategyLoadError, check_params, load_strategy_class

    named: list[tuple[str, dict[str, Any], str]] = [(cfg.strategy, {}, "strategy")] if cfg.strategy else []
    named += [(str(r["strategy"]), r.get("params") or {}, f"roles.{n}.strategy")
              for n, r in cfg.roles.items() if r.get("strategy")]  # fmt: skip
    for ref, params, where in named:
        if ":" not in ref:
            continue
        try:
            check_params(load_strategy_class(ref), params)
        except StrategyLoadError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
