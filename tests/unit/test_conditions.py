"""Status computation: component states and problems -> conditions, phase, URLs."""

from __future__ import annotations

from litemaas_operator.controller.conditions import (
    ComponentState,
    Observation,
    compute_status,
    status_changed,
)
from litemaas_operator.render.endpoints import Problem

READY = ComponentState(True, "Ready", "1/1 ready", 1, 1)
NOT_READY = ComponentState(False, "Progressing", "0/1 ready", 1, 0)
COMPONENTS = ("database", "redis", "litellm", "backend", "frontend", "auth")


def observe(generation: int = 1, problems=(), errors=(), **overrides) -> Observation:
    states = {key: READY for key in COMPONENTS}
    states.update(overrides)
    return Observation(generation, "0.5.0", "openshift", states, None, list(problems), list(errors))


def conditions(status: dict) -> dict[str, dict]:
    return {c["type"]: c for c in status["conditions"]}


def test_all_ready_is_ready_and_nothing_else():
    status = compute_status(observe(), None)
    conds = conditions(status)
    assert status["phase"] == "Ready"
    assert conds["Ready"]["status"] == "True"
    assert conds["Reconciling"]["status"] == "False"
    assert conds["Stalled"]["status"] == "False"
    assert all(c["observedGeneration"] == 1 for c in status["conditions"])


def test_a_component_starting_means_reconciling_and_names_it():
    status = compute_status(observe(backend=NOT_READY), None)
    conds = conditions(status)
    assert status["phase"] == "Progressing"
    assert conds["Ready"]["status"] == "False"
    assert conds["Reconciling"]["status"] == "True"
    assert conds["Stalled"]["status"] == "False"
    assert "Backend" in conds["Ready"]["message"]


def test_dependents_say_what_they_wait_for():
    status = compute_status(
        observe(database=NOT_READY, litellm=NOT_READY, backend=NOT_READY, frontend=NOT_READY),
        None,
    )
    conds = conditions(status)
    assert conds["LiteLLMReady"]["reason"] == "WaitingForPostgreSQL"
    assert conds["BackendReady"]["reason"] == "WaitingForPostgreSQL"
    assert conds["FrontendReady"]["reason"] == "WaitingForBackend"
    assert conds["DatabaseReady"]["reason"] == "Progressing"


def test_invalid_problem_stalls_with_its_message():
    problem = Problem("invalid", "auth", "SecretNotFound", "Secret x not found")
    status = compute_status(observe(problems=[problem]), None)
    conds = conditions(status)
    assert status["phase"] == "Stalled"
    assert conds["Stalled"]["status"] == "True"
    assert conds["Stalled"]["reason"] == "SecretNotFound"
    assert conds["Reconciling"]["status"] == "False"
    assert conds["AuthReady"]["status"] == "False"
    assert conds["Ready"]["message"] == "Secret x not found"


def test_waiting_problem_is_progress_not_stall():
    problem = Problem("waiting", "frontend", "WaitingForRouteHost", "no host yet")
    status = compute_status(observe(problems=[problem], frontend=NOT_READY), None)
    assert status["phase"] == "Progressing"
    assert conditions(status)["FrontendReady"]["reason"] == "WaitingForRouteHost"


def test_apply_errors_and_stuck_rollouts_stall():
    stuck = ComponentState(False, "ProgressDeadlineExceeded", "stuck", 1, 0, failed=True)
    assert compute_status(observe(backend=stuck), None)["phase"] == "Stalled"
    status = compute_status(observe(errors=["StatefulSet x: field is immutable"]), None)
    assert conditions(status)["Stalled"]["reason"] == "ApplyFailed"


def test_losing_readiness_after_ready_is_degraded():
    ready = compute_status(observe(), None)
    degraded = compute_status(observe(redis=NOT_READY), ready)
    assert degraded["phase"] == "Degraded"
    assert conditions(degraded)["Reconciling"]["status"] == "True"


def test_transition_times_only_move_when_status_flips():
    first = compute_status(observe(), None)
    for cond in first["conditions"]:
        cond["lastTransitionTime"] = "2020-01-01T00:00:00Z"
    again = compute_status(observe(), first)
    assert again == first
    assert not status_changed(first, again)
    flipped = compute_status(observe(backend=NOT_READY), first)
    assert conditions(flipped)["Ready"]["lastTransitionTime"] != "2020-01-01T00:00:00Z"
    assert conditions(flipped)["DatabaseReady"]["lastTransitionTime"] == "2020-01-01T00:00:00Z"


def test_new_generation_is_reported_on_every_condition():
    status = compute_status(observe(generation=7), compute_status(observe(), None))
    assert status["observedGeneration"] == 7
    assert {c["observedGeneration"] for c in status["conditions"]} == {7}
