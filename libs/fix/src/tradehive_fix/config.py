"""Session settings: one frozen struct, loaded from a mounted file, the venue's options and the environment.

Precedence (later wins): a TOML/JSON file named by ``<PREFIX>CONFIG_FILE``, the options given by the host (the
trader's venue options, the feeder's source options), then ``<PREFIX><NAME>`` environment variables
(type-converted; an unknown ``<PREFIX>*`` variable is an error). Credentials are separate (:class:`Credentials`):
``<PREFIX>USERNAME`` / ``<PREFIX>PASSWORD`` or ``<PREFIX>PASSWORD_FILE`` (a mounted secret); they never appear in
a repr, a log line or the effective-config dump.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

from tradehive_fix.errors import FixConfigError

BeginString = Literal["FIX.4.2", "FIX.4.4"]
SPEC_DIR = Path(__file__).parent / "spec"


class FixSessionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One FIX initiator session and how the counterparty takes orders.

    ``market_orders``: ``native`` sends OrdType=1; ``limit`` sends a marketable limit at the last quote
    moved ``collar_bps`` through it (for venues that only take limits). ``stop_orders``: ``native`` sends
    OrdType=3; ``emulate`` holds the stop here and sends it (as a market order) when a quote touches it.
    ``replace``: ``native`` sends OrderCancelReplaceRequest; ``cancel_new`` cancels and re-enters the rest;
    ``none`` refuses replaces. ``mass_status``: ask OrderMassStatusRequest (4.4) after each logon.
    """

    host: str = "127.0.0.1"
    port: int = 0
    sender_comp_id: str = ""
    target_comp_id: str = ""
    begin_string: BeginString = "FIX.4.4"
    heartbeat_s: int = 30
    reconnect_s: float = 1.0  # first reconnect delay; doubles after each failure up to reconnect_max_s
    reconnect_max_s: float = 30.0
    logon_timeout_s: int = 10
    data_dir: str = ""  # FileStore (sequence numbers + sent messages for resends) and the order journal
    reset_on_logon: bool = False  # True resets sequence numbers at every logon (some venues ask for it)
    data_dictionary: str = ""  # path to a QuickFIX XML dictionary ("" = the bundled FIX42/FIX44.xml)
    message_log: bool = False  # QuickFIX FileLog of every message under data_dir/log (credentials masked)
    account: str = ""
    market_orders: Literal["native", "limit"] = "native"
    stop_orders: Literal["native", "emulate"] = "native"
    replace: Literal["native", "cancel_new", "none"] = "native"
    mass_status: bool = True
    collar_bps: float = 50.0
    tif_map: dict[str, str] = {}  # how our time in force is sent, e.g. {"GTC": "DAY"} for a day-only venue
    symbols: list[str] = []  # market data: symbols to subscribe
    md_depth: int = 1

    def __post_init__(self) -> None:
        problems = []
        if not self.sender_comp_id or not self.target_comp_id:
            problems.append("sender_comp_id and target_comp_id are required")
        if not 0 < self.port < 65536:
            problems.append(f"port must be 1..65535, got {self.port}")
        if not self.data_dir:
            problems.append("data_dir is required (sequence numbers must survive a restart)")
        if self.heartbeat_s < 1 or self.reconnect_s <= 0 or self.reconnect_max_s < self.reconnect_s:
            problems.append("heartbeat_s >= 1 and 0 < reconnect_s <= reconnect_max_s")
        bad_tif = {
            k: v
            for k, v in self.tif_map.items()
            if k not in ("DAY", "GTC", "IOC") or v not in ("DAY", "GTC", "IOC")
        }
        if bad_tif:
            problems.append(f"tif_map entries must map DAY/GTC/IOC to DAY/GTC/IOC, got {bad_tif}")
        if not self.collar_bps >= 0:
            problems.append(f"collar_bps must be >= 0, got {self.collar_bps}")
        if problems:
            raise FixConfigError("FIX session settings: " + "; ".join(problems))

    @property
    def dictionary_path(self) -> Path:
        if self.data_dictionary:
            return Path(self.data_dictionary)
        return SPEC_DIR / ("FIX42.xml" if self.begin_string == "FIX.4.2" else "FIX44.xml")


@dataclass(frozen=True)
class Credentials:
    """Logon credentials (tags 553/554). Never printed: the repr hides them."""

    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)

    def __bool__(self) -> bool:
        return bool(self.username or self.password)


_SECRET_KEYS = ("USERNAME", "PASSWORD", "PASSWORD_FILE", "CONFIG_FILE")


def load_config(
    options: Mapping[str, Any] | None = None,
    *,
    prefix: str = "TRADEHIVE_FIX_",
    env: Mapping[str, str] | None = None,
) -> tuple[FixSessionConfig, Credentials]:
    """The effective settings and credentials (see the module docstring for the precedence)."""
    env = os.environ if env is None else env
    merged: dict[str, Any] = {}
    path = env.get(prefix + "CONFIG_FILE", "")
    if path:
        merged.update(_read_file(Path(path)))
    for key, value in (options or {}).items():
        if key not in ("username", "password"):  # options from a service's config are strings: convert
            merged[key] = _env_value(key, value) if isinstance(value, str) else value
    names = {f.lower() for f in FixSessionConfig.__struct_fields__}
    for key, value in env.items():
        if not key.startswith(prefix) or key[len(prefix) :] in _SECRET_KEYS:
            continue
        name = key[len(prefix) :].lower()
        if name not in names:
            raise FixConfigError(f"unknown setting {key} (known: {', '.join(sorted(names))})")
        merged[name] = _env_value(name, value)
    try:
        cfg = msgspec.convert(merged, FixSessionConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise FixConfigError(f"FIX session settings: {exc}") from exc
    return cfg, _credentials(options or {}, prefix, env)


def _env_value(name: str, value: str) -> Any:
    if name == "symbols":
        return [s for s in value.split(",") if s]
    if name == "tif_map":
        return dict(item.split("=", 1) for item in value.split(",") if "=" in item)
    return value


def _credentials(options: Mapping[str, Any], prefix: str, env: Mapping[str, str]) -> Credentials:
    password = env.get(prefix + "PASSWORD", str(options.get("password", "")))
    secret_file = env.get(prefix + "PASSWORD_FILE", "")
    if secret_file:
        try:
            password = Path(secret_file).read_text().strip()
        except OSError as exc:
            raise FixConfigError(f"cannot read {prefix}PASSWORD_FILE: {exc.strerror}") from exc
    return Credentials(env.get(prefix + "USERNAME", str(options.get("username", ""))), password)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise FixConfigError(f"cannot read FIX settings file {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise FixConfigError(f"FIX settings file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise FixConfigError(f"FIX settings file {path}: expected a table/object at the top")
    for secret in ("username", "password"):
        if secret in data:
            raise FixConfigError(
                f"FIX settings file {path}: put {secret} in the environment or a secret file"
            )
    return data


def quickfix_settings(cfg: FixSessionConfig) -> str:
    """The QuickFIX settings text of ``cfg`` (an initiator with one session)."""
    data = Path(cfg.data_dir)
    lines = [
        "[DEFAULT]",
        "ConnectionType=initiator",
        f"FileStorePath={data / 'store'}",
        f"FileLogPath={data / 'log'}",
        "ReconnectInterval=1",  # the adapter's supervisor gates reconnects with its own backoff
        f"HeartBtInt={cfg.heartbeat_s}",
        f"LogonTimeout={cfg.logon_timeout_s}",
        "StartTime=00:00:00",
        "EndTime=00:00:00",  # a 24h session: sequence numbers never reset on a schedule
        f"ResetOnLogon={'Y' if cfg.reset_on_logon else 'N'}",
        "ResetOnLogout=N",
        "ResetOnDisconnect=N",
        "PersistMessages=Y",
        "UseDataDictionary=Y",
        f"DataDictionary={cfg.dictionary_path}",
        "ValidateUserDefinedFields=N",
        "AllowUnknownMsgFields=Y",
        "[SESSION]",
        f"BeginString={cfg.begin_string}",
        f"SenderCompID={cfg.sender_comp_id}",
        f"TargetCompID={cfg.target_comp_id}",
        f"SocketConnectHost={cfg.host}",
        f"SocketConnectPort={cfg.port}",
    ]
    return "\n".join(lines) + "\n"


__all__ = ["SPEC_DIR", "Credentials", "FixSessionConfig", "load_config", "quickfix_settings"]
