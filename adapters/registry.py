"""Finding adapters: built-ins by name, third-party ones through the `tipline.adapters`
entry-point group, or any `package.module:factory` dotted path. A factory takes `Settings`."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import cast

from adapters.base import Adapter
from config.settings import Settings, SettingsError

AdapterFactory = Callable[[Settings], Adapter]

BUILT_INS: dict[str, str] = {
    "simulator": "adapters.simulator:SimulatorAdapter",
    "telegram": "adapters.telegram:TelegramAdapter",
    "twilio": "adapters.twilio:TwilioAdapter",
}


def _import(path: str) -> AdapterFactory:
    module_name, _, attr = path.partition(":")
    if not attr:
        module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        return cast(AdapterFactory, getattr(module, attr))
    except (ImportError, AttributeError, ValueError):
        raise SettingsError(f"adapter {path!r} cannot be imported") from None


def find_factory(name: str) -> AdapterFactory:
    if name in BUILT_INS:
        return _import(BUILT_INS[name])
    for entry in entry_points(group="tipline.adapters"):
        if entry.name == name:
            return cast(AdapterFactory, entry.load())
    if ":" in name or "." in name:
        return _import(name)
    known = sorted(set(BUILT_INS) | {e.name for e in entry_points(group="tipline.adapters")})
    raise SettingsError(f"unknown channel {name!r} in CHANNELS; known: {', '.join(known)}")


def load_adapters(settings: Settings) -> dict[str, Adapter]:
    """Build every adapter named in `CHANNELS`, keyed by the adapter's own name."""
    adapters: dict[str, Adapter] = {}
    for name in settings.channels:
        adapter = find_factory(name)(settings)
        if not isinstance(adapter, Adapter):
            raise SettingsError(f"channel {name!r} does not implement the Adapter interface")
        adapters[adapter.name] = adapter
    return adapters
