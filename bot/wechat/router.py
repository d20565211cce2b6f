"""Handlers registered per message type by decorator (the WeRoBot shape)."""
from __future__ import annotations

from typing import Any, Callable

from bot.wechat.messages import Event, Message

Handler = Callable[[Message, Any], "str | None"]


class Router:
    """Maps a message class (or an event name) to the function that answers it.

    The most specific registration wins: an exact class, then its bases, then
    the default. A handler returns the reply text, or None for a silent
    `success`.
    """

    def __init__(self) -> None:
        self._by_class: dict[type, Handler] = {}
        self._default: Handler | None = None

    def on(self, *classes: type[Message]) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            for cls in classes:
                self._by_class[cls] = fn
            return fn
        return register

    def default(self, fn: Handler) -> Handler:
        self._default = fn
        return fn

    def handler_for(self, message: Message) -> Handler | None:
        for cls in type(message).__mro__:
            if cls in self._by_class:
                return self._by_class[cls]
            if cls in (Event, Message):
                break
        return self._by_class.get(Event) if isinstance(message, Event) and Event in self._by_class else self._default

    def dispatch(self, message: Message, context: Any) -> str | None:
        handler = self.handler_for(message)
        return handler(message, context) if handler else None
