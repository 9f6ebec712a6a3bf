"""Tiny per-process caches for reference data read on every intake and dispatch.

Rule tables change a few times a month, but intake reads them on every appeal. Each
process keeps the answer for a few seconds; a change made in this process clears it at
once, a change made in another process is seen within `seconds` (documented in
docs/decisions.md). Tests clear every cache between tests.
"""

from __future__ import annotations

import functools
import threading
import time

_registry: list = []


def short_lived(seconds: float):
    """Cache a no-argument function's result for `seconds`; `.clear()` forgets it."""

    def decorator(func):
        state = {"value": None, "at": None}
        lock = threading.Lock()

        @functools.wraps(func)
        def wrapper():
            now = time.monotonic()
            if state["at"] is None or now - state["at"] > seconds:
                value = func()
                with lock:
                    state["value"], state["at"] = value, now
            return state["value"]

        def clear():
            with lock:
                state["value"], state["at"] = None, None

        wrapper.clear = clear
        _registry.append(wrapper)
        return wrapper

    return decorator


def clear_all() -> None:
    for cached in _registry:
        cached.clear()
