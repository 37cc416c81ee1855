"""A failed reconcile reads right to people, kstatus and Argo CD, whatever the error was."""

from __future__ import annotations

from litemaas_operator.controller.failures import STALL_AFTER, failure_status, is_transition
from litemaas_operator.controller.logs import remember_secrets


def conditions(status: dict) -> dict[str, dict]:
    return {c["type"]: c for c in status["conditions"]}


READY = {
    "observedGeneration": 1,
    "phase": "Ready",
    "version": "0.5.0",
    "urls": {"frontend": "https://x.example.com"},
    "conditions": [
        {"type": "Ready", "status": "True", "reason": "Ready", "message": "",
         "observedGeneration": 1, "lastTransitionTime": "2026-01-01T00:00:00Z"},
        {"type": "BackendReady", "status": "True", "reason": "Ready", "message": "",
         "observedGeneration": 1, "lastTransitionTime": "2026-01-01T00:00:00Z"},
    ],
}  # fmt: skip


def test_a_new_cr_shows_the_error_instead_of_an_empty_status():
    status = failure_status(None, 1, "API 500 InternalError: boom", 1)
    assert status["observedGeneration"] == 1  # kstatus: the generation was tried
    c = conditions(status)
    assert (c["Ready"]["status"], c["Ready"]["reason"]) == ("False", "ReconcileFailed")
    assert "boom" in c["Ready"]["message"]
    assert c["Reconciling"]["status"] == "True"  # kstatus: InProgress while retrying
    assert c["Stalled"]["status"] == "False"
    assert status["phase"] == "Progressing"


def test_a_ready_cr_whose_new_generation_fails_is_no_longer_ready():
    status = failure_status(READY, 2, "API 500 InternalError: boom", 1)
    c = conditions(status)
    assert c["Ready"]["status"] == "False" and c["Ready"]["observedGeneration"] == 2
    assert status["phase"] == "Degraded"
    # What was observed before is kept: URLs, version, component conditions.
    assert status["urls"] == READY["urls"] and status["version"] == "0.5.0"
    assert c["BackendReady"] == READY["conditions"][1]


def test_a_persistent_error_stalls_so_gitops_tools_stop_waiting():
    status = failure_status(None, 3, "API 500 InternalError: boom", STALL_AFTER)
    c = conditions(status)
    assert (c["Stalled"]["status"], c["Stalled"]["reason"]) == ("True", "ReconcileFailed")
    assert c["Reconciling"]["status"] == "False"
    assert status["phase"] == "Stalled"


def test_a_secret_in_an_error_message_is_redacted():
    secret = "s3cr3t-value-that-must-not-show"
    remember_secrets({secret})
    status = failure_status(None, 1, f"API 422: value {secret} is invalid", 1)
    assert secret not in str(status)


def test_events_only_at_transitions():
    assert [n for n in range(1, 10) if is_transition(n)] == [1, STALL_AFTER]
