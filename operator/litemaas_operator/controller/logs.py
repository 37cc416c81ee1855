"""Logging: structured output, and a last line of defence that keeps secrets out of it.

No code path logs a credential on purpose; the redaction filter catches any that slips through
(an exception message quoting an object, a framework debug line) by replacing every value the
operator knows to be secret before the record is formatted.
"""

from __future__ import annotations

import logging
import re
import threading

REDACTED = "[REDACTED]"
_lock = threading.Lock()
_secrets: set[str] = set()
# Short values (a username, "true") would redact ordinary words: only high-entropy ones count.
MIN_SECRET_LENGTH = 12
# Kopf posts every record of this logger as a Kubernetes Event on the CR (its K8sPoster handler).
EVENTS_LOGGER = "kopf.objects"
_TRACEBACKS = logging.Formatter()


def remember_secrets(values: list[str] | set[str]) -> None:
    """Register secret values to redact from every later log record."""
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= MIN_SECRET_LENGTH)


def redact(text: str) -> str:
    """``text`` with every registered secret value replaced."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (after %-formatting) and traceback with secrets removed."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # Formatters append the traceback, whose last line quotes the exception's message.
            trace = _TRACEBACKS.formatException(record.exc_info)
            clean = redact(trace)
            if clean != trace:
                # Formatters (text and JSON) print exc_text when exc_info is gone, and would
                # re-render the unredacted traceback from exc_info otherwise.
                record.exc_text, record.exc_info = clean, None
        return True


class QuietWakeUps(logging.Filter):
    """Drops Kopf's "Handler ... succeeded" line of the CR watch that only wakes a loop.

    It fires for every event on every CR and would drown the lines that matter. (Children and
    Secrets are watched by controller/watches.py, which logs nothing per event.)
    """

    NOISY = re.compile(r"^Handler 'cr_changed' succeeded\.$")

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.NOISY.match(record.getMessage())


def install_redaction() -> None:
    """Attach the filters to every handler of the root logger, and redact Kopf's Events.

    Kopf's ``kopf.objects`` logger hands each record to its own handler (``K8sPoster``, which
    posts an Event readable by anyone who may read Events in the namespace) before the record
    propagates to the root handlers, so a root-handler filter comes too late for it. A
    logger-level filter runs before every handler of that logger; the handler-level one also
    covers records of any child logger that propagate into it.
    """
    for handler in logging.getLogger().handlers:
        for kind in (QuietWakeUps, RedactingFilter):
            _add_filter(handler, kind)
    events = logging.getLogger(EVENTS_LOGGER)
    _add_filter(events, RedactingFilter)
    for handler in events.handlers:
        _add_filter(handler, RedactingFilter)


def _add_filter(target: logging.Filterer, kind: type[logging.Filter]) -> None:
    """Add a ``kind`` filter to a logger or handler unless it has one (install is repeatable)."""
    if not any(isinstance(f, kind) for f in target.filters):
        target.addFilter(kind())
