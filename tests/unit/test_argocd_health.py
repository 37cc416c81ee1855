"""The Argo CD health check (manifests/argocd/litemaas-health.lua) on statuses the operator writes.

Argo CD runs health scripts in gopher-lua (Lua 5.1). The script runs here in lupa's Lua 5.1
runtime, the closest to gopher-lua, and in LuaJIT 2.1 (also 5.1 syntax), on CRs whose status
comes from the operator's own ``compute_status`` rather than hand-written fixtures, so a change
in the status shape that the script misreads fails here.
"""

from __future__ import annotations

import copy
import importlib
from pathlib import Path
from typing import Any

import pytest

from litemaas_operator.controller.conditions import ComponentState, Observation, compute_status
from litemaas_operator.render.endpoints import Problem

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "manifests" / "argocd" / "litemaas-health.lua"
PATCH = ROOT / "manifests" / "argocd" / "argocd-cm-patch.yaml"
COMPONENTS = ("database", "redis", "litellm", "backend", "frontend", "auth")
READY = ComponentState(True, "Ready", "Deployment x: 1/1 ready", 1, 1)
STARTING = ComponentState(False, "Progressing", "Deployment litemaas-backend: 0/1 ready", 1, 0)
MISSING_JWT = Problem(
    "invalid",
    "backend",
    "SecretNotFound",
    "Secret my-jwt (spec.secrets.jwtSecret) not found in namespace team-a",
)
# lupa ships several runtimes; gopher-lua implements Lua 5.1, so 5.1 semantics are what count.
RUNTIMES = ["lupa.lua51", "lupa.luajit21"]


def lua_runtime(module: str) -> Any:
    """A fresh LuaRuntime of one of lupa's bundled Lua builds; fails (not skips) if absent."""
    return importlib.import_module(module).LuaRuntime(unpack_returned_tuples=True)


def argo_health(obj: dict[str, Any], runtime: str = "lupa.lua51") -> dict[str, str]:
    """Run the health script as Argo CD does: ``obj`` is a global, the chunk returns a table."""
    lua = lua_runtime(runtime)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(SCRIPT.read_text())
    assert result is not None, "the script returned nothing"
    out = dict(result.items())
    assert set(out) <= {"status", "message"}, out
    return out


def observation(generation: int = 1, problems: tuple = (), **states: ComponentState) -> Observation:
    """Every component ready unless overridden."""
    components = {key: READY for key in COMPONENTS}
    components.update(states)
    return Observation(generation, "0.5.0", "openshift", components, None, list(problems))


def cr(generation: int, status: dict[str, Any] | None) -> dict[str, Any]:
    """A LiteMaaS object as Argo CD hands it to the script."""
    obj: dict[str, Any] = {
        "apiVersion": "litemaas.io/v1alpha1",
        "kind": "LiteMaaS",
        "metadata": {"name": "litemaas", "namespace": "team-a", "generation": generation},
        "spec": {"version": "0.5.0"},
    }
    if status is not None:
        obj["status"] = copy.deepcopy(status)
    return obj


READY_STATUS = compute_status(observation(), None)
STARTING_STATUS = compute_status(observation(backend=STARTING, frontend=STARTING), None)
STALLED_STATUS = compute_status(observation(problems=(MISSING_JWT,), backend=STARTING), None)
DEGRADED_STATUS = compute_status(observation(backend=STARTING), READY_STATUS)

CASES = {
    "ready": (cr(1, READY_STATUS), "Healthy", "all components are ready"),
    "progressing": (cr(1, STARTING_STATUS), "Progressing", "waiting for Backend"),
    "stalled": (cr(1, STALLED_STATUS), "Degraded", "Secret my-jwt (spec.secrets.jwtSecret)"),
    "degraded": (cr(1, DEGRADED_STATUS), "Degraded", "waiting for Backend"),
    "stale generation": (
        cr(2, READY_STATUS),
        "Progressing",
        "observe generation 2 (status is of generation 1)",
    ),
    "stale stalled": (cr(2, STALLED_STATUS), "Progressing", "observe generation 2"),
    "no status": (cr(1, None), "Progressing", "Waiting for the operator to report a status"),
    "empty status": (cr(1, {}), "Progressing", "Waiting for the operator to report a status"),
    "defaulted status": (
        cr(1, {"observedGeneration": 0}),
        "Progressing",
        "Waiting for the operator to report a status",
    ),
}


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("case", list(CASES))
def test_health_of_operator_statuses(case: str, runtime: str) -> None:
    obj, status, message = CASES[case]
    health = argo_health(obj, runtime)
    assert health["status"] == status, health
    assert message in health["message"], health


def test_the_cases_are_what_their_names_say() -> None:
    """Guard the table: the statuses really are in the phases the cases claim."""
    assert READY_STATUS["phase"] == "Ready"
    assert STARTING_STATUS["phase"] == "Progressing"
    assert STALLED_STATUS["phase"] == "Stalled"
    assert DEGRADED_STATUS["phase"] == "Degraded"


def test_stalled_message_is_the_operators_stalled_message() -> None:
    stalled = next(c for c in STALLED_STATUS["conditions"] if c["type"] == "Stalled")
    assert argo_health(cr(1, STALLED_STATUS))["message"] == stalled["message"]


def test_invalid_spec_is_degraded_with_its_message() -> None:
    """The reconciler's path for a spec only pydantic rejects: no components, one problem."""
    problem = Problem("invalid", "spec", "InvalidSpec", "spec.auth.oidc.issuer: is required")
    obs = Observation(1, "0.5.0", None, {}, None, [problem])
    health = argo_health(cr(1, compute_status(obs, None)))
    assert health == {"status": "Degraded", "message": "spec.auth.oidc.issuer: is required"}


def test_degraded_stays_degraded_until_ready_again() -> None:
    """A second status write while still broken must not flip Argo CD back to Progressing."""
    again = compute_status(observation(backend=STARTING), DEGRADED_STATUS)
    assert argo_health(cr(1, again))["status"] == "Degraded"
    recovered = compute_status(observation(), again)
    assert argo_health(cr(1, recovered))["status"] == "Healthy"


def test_rolling_out_a_new_generation_is_progressing_not_degraded() -> None:
    """An upgrade (generation 2) restarting the backend is work in progress, not a failure."""
    rolling = compute_status(observation(generation=2, backend=STARTING), READY_STATUS)
    health = argo_health(cr(2, rolling))
    assert health["status"] == "Progressing", health
    assert "Backend" in health["message"]


def test_ready_condition_of_an_older_generation_is_not_healthy() -> None:
    """A status whose top-level observedGeneration moved but whose Ready did not."""
    status = copy.deepcopy(READY_STATUS)
    status["observedGeneration"] = 2
    health = argo_health(cr(2, status))
    assert health["status"] == "Progressing"
    assert "Ready is of generation 1" in health["message"]


def test_object_without_generation_uses_the_conditions() -> None:
    """Some Argo CD code paths (e.g. a diff preview) may lack metadata.generation."""
    obj = cr(1, READY_STATUS)
    del obj["metadata"]["generation"]
    assert argo_health(obj)["status"] == "Healthy"


def test_script_is_lua_5_1() -> None:
    """Lua 5.1 parses it (no goto, //, bit operators, integer division): gopher-lua will too."""
    lua = lua_runtime("lupa.lua51")
    assert lua.eval("_VERSION") == "Lua 5.1"
    compiles = lua.eval("function(s) local f, e = loadstring(s); return f ~= nil, e end")
    assert compiles("local a = 1 // 2")[0] is False  # the check has teeth: 5.3 syntax fails
    ok, error = compiles(SCRIPT.read_text())
    assert ok, error


def test_argocd_cm_patch_embeds_this_script() -> None:
    """The shipped ConfigMap patch carries the same script, under the key Argo CD reads."""
    import yaml

    patch = yaml.safe_load(PATCH.read_text())
    assert patch["kind"] == "ConfigMap" and patch["metadata"]["name"] == "argocd-cm"
    key = "resource.customizations.health.litemaas.io_LiteMaaS"
    assert patch["data"][key].strip() == SCRIPT.read_text().strip()
