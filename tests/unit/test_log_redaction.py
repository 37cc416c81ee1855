"""Secrets stay out of the Kubernetes Events Kopf posts from its ``kopf.objects`` logger.

The records go through Kopf's real ``K8sPoster`` handler into its real posting queue; only the
API call that would create the Event is left out.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Iterator

import kopf
import pytest
from kopf._core.actions.loggers import ObjectLogger
from kopf._core.engines.posting import K8sEvent, event_queue_loop_var, event_queue_var

from litemaas_operator.controller import logs
from litemaas_operator.controller.logs import REDACTED, install_redaction, remember_secrets

BODY = {
    "apiVersion": "litemaas.io/v1alpha1",
    "kind": "LiteMaaS",
    "metadata": {"name": "litemaas", "namespace": "team-a", "uid": "1234"},
}


@pytest.fixture
def secret() -> str:
    """A fresh value registered for redaction (random, so no real secret is ever printed)."""
    value = secrets.token_urlsafe(24)
    remember_secrets([value])
    return value


@pytest.fixture
def clean_filters() -> Iterator[None]:
    """Undo ``install_redaction`` so each test starts without the filters."""
    targets: list[logging.Filterer] = [logging.getLogger(), logging.getLogger(logs.EVENTS_LOGGER)]
    targets += [h for t in list(targets) for h in t.handlers]  # type: ignore[attr-defined]
    before = {id(t): list(t.filters) for t in targets}
    yield
    for target in targets:
        target.filters[:] = before[id(target)]


def post(log: Callable[[ObjectLogger], None]) -> list[K8sEvent]:
    """Run ``log(logger)`` where Kopf would, and return the Events it queued for posting."""

    async def run() -> list[K8sEvent]:
        queue: asyncio.Queue[K8sEvent] = asyncio.Queue()
        event_queue_var.set(queue)
        event_queue_loop_var.set(asyncio.get_running_loop())
        settings = kopf.OperatorSettings()
        settings.posting.level = logging.WARNING
        # Off by default since Kopf 1.45 (and on in every earlier release): turned on here, as
        # an operator setting or an older Kopf would, so the records reach the poster.
        settings.posting.loggers = True
        log(ObjectLogger(body=BODY, settings=settings))
        return [queue.get_nowait() for _ in range(queue.qsize())]

    return asyncio.run(run())


def test_an_event_from_kopf_objects_is_redacted(secret, clean_filters):
    install_redaction()
    events = post(lambda logger: logger.warning("apply failed: password=%s", secret))
    assert len(events) == 1
    leaked = secret in events[0].message
    assert not leaked, "the secret reached a Kubernetes Event"
    assert events[0].message == f"apply failed: password={REDACTED}"


def test_a_traceback_in_an_event_is_redacted(secret, clean_filters):
    install_redaction()

    def fail(logger: ObjectLogger) -> None:
        try:
            raise RuntimeError(f"server said: {secret}")
        except RuntimeError:
            logger.exception("reconcile failed")

    events = post(fail)
    assert len(events) == 1
    leaked = secret in events[0].message
    assert not leaked, "the secret reached a Kubernetes Event through the traceback"
    assert f"RuntimeError: server said: {REDACTED}" in events[0].message


def test_without_redaction_the_event_would_carry_the_secret(secret, clean_filters):
    """The test above is meaningful: Kopf posts the raw message unless redaction is installed."""
    quiet = logging.getLogger(logs.EVENTS_LOGGER)
    quiet.propagate = False  # keep the unredacted record out of pytest's captured log
    try:
        events = post(lambda logger: logger.warning("password=%s", secret))
    finally:
        quiet.propagate = True
    assert len(events) == 1
    leaked = secret in events[0].message
    assert leaked


def test_install_is_idempotent(clean_filters):
    install_redaction()
    install_redaction()
    events_logger = logging.getLogger(logs.EVENTS_LOGGER)
    kinds = [type(f) for f in events_logger.filters]
    assert kinds.count(logs.RedactingFilter) == 1
