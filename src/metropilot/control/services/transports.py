"""How a command message reaches one asset: the protocol every transport follows, and the
embedded platform's in-process one (MQTT's lives in `control.mqtt`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol


class CommandTransport(Protocol):
    """Delivers a command message to one asset (MQTT, or in-process for the embedded demo)."""

    def send(self, asset_ref: str, message: Mapping[str, Any]) -> None: ...


class LocalTransport:
    """The embedded platform's transport: hands each message to the listeners in this process
    (the demo's simulated equipment), as a broker would."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[str, Mapping[str, Any]], None]] = []

    def listen(self, listener: Callable[[str, Mapping[str, Any]], None]) -> None:
        self._listeners.append(listener)

    def send(self, asset_ref: str, message: Mapping[str, Any]) -> None:
        for listener in list(self._listeners):
            listener(asset_ref, message)
