"""A user's extraEnv may name a variable the operator sets: it overrides, it does not duplicate.

The API server refuses a pod template with two entries of one name (a 500 the operator would
retry forever), so the rendered env must hold each name once.
"""

from __future__ import annotations

from collections import Counter

import pytest
from rendering import INSTANCE, find, render

from litemaas_operator.render.pods import merged_env


def env_of(objs: list, kind: str, name: str, container: str) -> list[dict]:
    spec = find(objs, kind, name)["spec"]["template"]["spec"]
    [c] = [c for c in spec["containers"] if c["name"] == container]
    return c["env"]


@pytest.mark.parametrize(
    ("component", "kind", "container", "var"),
    [
        ("backend", "Deployment", "backend", "LOG_LEVEL"),
        ("backend", "Deployment", "backend", "DATABASE_URL"),
        ("litellm", "Deployment", "litellm", "LITELLM_MASTER_KEY"),
        ("database", "StatefulSet", "postgres", "PGDATA"),
    ],
)
def test_extra_env_overrides_the_operators_value(component, kind, container, var):
    spec = {component: {"extraEnv": [{"name": var, "value": "from-the-user"}]}}
    state = render(spec, "openshift")
    name = f"{INSTANCE.name}-{'postgres' if component == 'database' else component}"
    env = env_of(state.objects, kind, name, container)
    assert Counter(e["name"] for e in env)[var] == 1
    assert {"name": var, "value": "from-the-user"} in env


def test_merged_env_keeps_order_and_the_last_definition():
    env = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "A", "value": "3"}]
    assert merged_env(env) == [{"name": "B", "value": "2"}, {"name": "A", "value": "3"}]
