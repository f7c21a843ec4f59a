"""Find a strategy class from what a user wrote: a built-in name, ``package.module:Class`` or
``path/to/file.py:Class``. Used by the brain (``strategy`` setting), ``tradehive backtest --strategy`` and
``tradehive run --strategy``, so a strategy named one way works everywhere.

A file is imported as a module of its own (named after the file and a hash of its absolute path, registered in
``sys.modules`` so dataclasses and pickling-free introspection work); importing it runs its top-level code, as
any import does.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tradehive.errors import TradehiveError
from tradehive.strategy import Strategy, StrategyContext


class StrategyLoadError(TradehiveError):
    """A strategy that cannot be loaded: no such file, module or class, or not a ``Strategy`` subclass."""


def is_file_ref(ref: str) -> bool:
    """True when ``ref`` names a file (``dir/file.py:Class``) rather than a module or a built-in."""
    path, sep, _ = ref.rpartition(":")
    return bool(sep) and (path.endswith(".py") or "/" in path or "\\" in path)


def resolve(ref: str, base: Path | None = None) -> str:
    """``ref`` with a file path made absolute (against ``base``, default the working directory), so it means
    the same file in an agent process started elsewhere; module paths and built-in names are unchanged."""
    if not is_file_ref(ref):
        return ref
    path, _, attr = ref.rpartition(":")
    return f"{((base or Path.cwd()) / Path(path).expanduser()).resolve()}:{attr}"


def _import_file(path_text: str) -> Any:
    path = Path(path_text).expanduser().resolve()
    if not path.is_file():
        raise StrategyLoadError(f"strategy file {path_text!r} does not exist ({path})")
    if path.suffix != ".py":
        raise StrategyLoadError(f"strategy file {path_text!r} is not a Python file (.py)")
    digest = hashlib.sha1(str(path).encode(), usedforsecurity=False).hexdigest()[:10]
    name = f"tradehive_user_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise StrategyLoadError(f"strategy file {path_text!r} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise StrategyLoadError(
            f"strategy file {path_text!r} failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    return module


def _import_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise StrategyLoadError(f"strategy module {name!r} cannot be imported: {exc}") from exc


def load_strategy_class(ref: str, builtin: Mapping[str, type[Strategy]] | None = None) -> type[Strategy]:
    """The :class:`~tradehive.strategy.Strategy` subclass ``ref`` names; :class:`StrategyLoadError` with the
    reason otherwise (no such file, module or attribute, or something that is not a strategy class)."""
    builtin = builtin or {}
    if ref in builtin:
        return builtin[ref]
    where, sep, attr = ref.rpartition(":")
    if not sep or not where or not attr:
        known = f"built-in: {', '.join(sorted(builtin))}; " if builtin else ""
        raise StrategyLoadError(
            f"unknown strategy {ref!r} ({known}or module:Class, or path/to/file.py:Class)"
        )
    module = _import_file(where) if is_file_ref(ref) else _import_module(where)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            found = sorted(
                n for n, v in vars(module).items()
                if isinstance(v, type) and issubclass(v, Strategy) and v is not Strategy
            )  # fmt: skip
            raise StrategyLoadError(
                f"{where} has no {attr!r}; strategy classes there: {', '.join(found) or 'none'}"
            ) from None
    if not (isinstance(obj, type) and issubclass(obj, Strategy)):
        raise StrategyLoadError(
            f"{ref} is a {type(obj).__name__}, not a subclass of tradehive.strategy.Strategy"
        )
    return obj


def make_strategy(ref: str, builtin: Mapping[str, type[Strategy]], ctx: StrategyContext,
                  params: Mapping[str, Any]) -> Strategy:  # fmt: skip
    """The strategy ``ref`` names (:func:`load_strategy_class`) on ``ctx`` with ``params``;
    :class:`StrategyLoadError` when it cannot be loaded or refuses its parameters."""
    cls = load_strategy_class(ref, builtin)
    try:
        return cls(ctx, dict(params))
    except (ValueError, TypeError) as exc:
        raise StrategyLoadError(f"strategy {ref!r}: {exc}") from exc


def check_params(cls: type[Strategy], params: Mapping[str, Any]) -> None:
    """Raise :class:`StrategyLoadError` for a parameter the strategy does not declare in ``defaults``."""
    unknown = sorted(set(params) - set(cls.defaults))
    if unknown:
        raise StrategyLoadError(
            f"strategy {cls.name!r} has no parameter(s) {unknown}; has {sorted(cls.defaults)}"
        )


__all__ = [
    "StrategyLoadError",
    "check_params",
    "is_file_ref",
    "load_strategy_class",
    "make_strategy",
    "resolve",
]
