"""A Route its routers refused makes its component not ready, and says why."""

from typing import Any

from litemaas_operator.controller.route_status import REASON, route_problems
from litemaas_operator.facts import Instance
from litemaas_operator.render.names import Names

NAMES = Names(Instance("litemaas", "team-a"))


def route(name: str, host: str, *ingress: dict[str, Any]) -> dict[tuple[str, str], Any]:
    return {("Route", name): {"spec": {"host": host}, "status": {"ingress": list(ingress)}}}


def entry(host: str, status: str, router: str = "default", **extra: str) -> dict[str, Any]:
    condition = {"type": "Admitted", "status": status, **extra}
    return {"host": host, "routerName": router, "conditions": [condition]}


def test_a_host_claimed_elsewhere_is_a_problem_of_its_component():
    claimed = entry(
        "ai.example.com",
        "False",
        reason="HostAlreadyClaimed",
        message="a route in another namespace holds ai.example.com and is older than litemaas",
    )
    [problem] = route_problems(route(NAMES.frontend_route, "ai.example.com", claimed), NAMES)
    assert (problem.kind, problem.component, problem.reason) == ("invalid", "frontend", REASON)
    assert "Route litemaas is not admitted for host ai.example.com" in problem.message
    assert "router default: HostAlreadyClaimed (a route in another namespace holds" in (
        problem.message
    )


def test_admitted_by_one_router_or_not_yet_reported_is_no_problem():
    shard = entry("llm.example.com", "False", router="shard", reason="HostAlreadyClaimed")
    admitted = entry("llm.example.com", "True")
    assert (
        route_problems(route(NAMES.litellm_route, "llm.example.com", shard, admitted), NAMES) == []
    )
    assert route_problems(route(NAMES.litellm_route, "llm.example.com"), NAMES) == []
    assert route_problems({}, NAMES) == []


def test_a_refusal_of_an_old_host_is_stale():
    old = entry("old.example.com", "False", reason="HostAlreadyClaimed")
    assert route_problems(route(NAMES.frontend_route, "new.example.com", old), NAMES) == []
