"""A tiny level-based watch loop shared by the fake router and the PV provisioner."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import watch

log = logging.getLogger(__name__)


def watch_forever(
    list_func: Callable[..., Any],
    handle: Callable[[str, Any], None],
    stop: threading.Event,
    *args: Any,
    resync_seconds: int = 10,
    **kwargs: Any,
) -> None:
    """Calls ``handle(event_type, obj)`` for every object and change until ``stop`` is set.

    Each round starts a fresh watch without a resourceVersion, so the API server replays
    every object as ADDED: that doubles as a periodic resync (handlers must be idempotent)
    and means no bookmark or 410-Gone bookkeeping. Rounds last ``resync_seconds``, which also
    bounds how long ``stop`` takes to be noticed.
    """
    while not stop.is_set():
        w = watch.Watch()
        try:
            for event in w.stream(list_func, *args, timeout_seconds=resync_seconds, **kwargs):
                if stop.is_set():
                    w.stop()
                    break
                try:
                    handle(event["type"], event["object"])
                except Exception:  # one bad object must not stop the loop
                    log.exception("handler failed")
        except Exception as exc:  # API server restarting, CRD not yet there, ...
            log.debug("watch %s failed: %s", getattr(list_func, "__name__", list_func), exc)
            stop.wait(1)
