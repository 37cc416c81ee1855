"""A changed PostgreSQL password reaches the database role (by a Job) before any pod.

The planner and the status are pure; ``rotate_database_password`` is run with a client that
only answers the one GET it may make (the PVC), so these tests also pin that a steady-state
reconcile makes no request for it. The SQL itself runs on a real server in
tests/postgres/test_password_rotation_sql.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Sequence
from typing import Any

import pytest
from netpol import Cluster, Pod
from rendering import CREDENTIALS, INSTANCE, find, render

from litemaas_operator.api import LiteMaaSSpec
from litemaas_operator.controller.apply import NAMESPACED_KINDS, prunable
from litemaas_operator.controller.conditions import ComponentState, Observation, compute_status
from litemaas_operator.controller.data_keys import (
    credentials_lost,
    fold_rotation,
    report_rotation,
    rotate_database_password,
)
from litemaas_operator.controller.gather import Gathered
from litemaas_operator.facts import ClusterFacts
from litemaas_operator.render.endpoints import Problem
from litemaas_operator.render.names import Names
from litemaas_operator.render.password_rotation import (
    COMPONENT,
    SCRIPT,
    rotation_job_name,
)
from litemaas_operator.render.pods import POSTGRES_IMAGE
from litemaas_operator.rotation import PasswordRotation, job_state, plan_password_rotation

NAMES = Names(INSTANCE)
OLD, NEW = "old-pass'word", 'new pass"word ü'
KEY = CREDENTIALS["config-hash-key"]
JOB = rotation_job_name(NAMES, KEY, OLD, NEW, POSTGRES_IMAGE)
PVC = {"metadata": {"name": NAMES.postgres_pvc}}


def job(*conditions: tuple[str, str]) -> dict[str, Any]:
    """A Job as listed, with (type, reason) conditions that are True."""
    return {
        "metadata": {"name": JOB},
        "status": {
            "conditions": [
                {"type": t, "status": "True", "reason": r, "message": f"{r} happened"}
                for t, r in conditions
            ]
        },
    }


def plan(**overrides: Any) -> PasswordRotation | None:
    args: dict[str, Any] = {
        "wanted": NEW,
        "current": OLD,
        "volume_exists": True,
        "job_name": JOB,
        "job": None,
    }
    return plan_password_rotation(**(args | overrides))


# The planner ------------------------------------------------------------------------------


def test_nothing_to_do_when_the_role_has_the_password():
    assert plan(current=NEW) is None


def test_nothing_to_do_without_a_volume_or_a_current_password():
    assert plan(volume_exists=False) is None  # the server will be initialised with the new one
    assert plan(current=None) is None


def test_a_change_with_a_volume_is_a_rotation_through_this_pairs_job():
    rotation = plan()
    assert rotation is not None
    assert (rotation.job, rotation.old, rotation.new, rotation.state) == (JOB, OLD, NEW, "pending")
    # The passwords never show in a repr (logs, tracebacks).
    assert OLD not in repr(rotation) and NEW not in repr(rotation)


@pytest.mark.parametrize(
    ("listed", "state"),
    [
        (None, "pending"),
        (job(), "running"),
        (job(("Complete", "CompletionsReached")), "succeeded"),
        (job(("Failed", "BackoffLimitExceeded")), "failed"),
    ],
)
def test_the_job_state_is_read_from_its_conditions(listed, state):
    assert job_state(listed)[0] == state
    rotation = plan(job=listed)
    assert rotation is not None and rotation.state == state


def test_a_failed_job_says_why():
    _, message = job_state(job(("Failed", "BackoffLimitExceeded")))
    assert message == "BackoffLimitExceeded: BackoffLimitExceeded happened"


# The Job ----------------------------------------------------------------------------------


def rendered(state: str = "pending", spec: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    rotation = PasswordRotation(JOB, OLD, NEW, state)  # type: ignore[arg-type]
    return render(spec or {}, "kubernetes", password_rotation=rotation).objects


def test_a_rotation_renders_its_secret_and_job():
    objects = rendered()
    handed = find(objects, "Secret", JOB)
    data = {k: base64.b64decode(v).decode() for k, v in handed["data"].items()}
    assert data == {"old-password": OLD, "new-password": NEW}
    pod = find(objects, "Job", JOB)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["sh", "-c", SCRIPT]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert refs == {
        "OLD_PASSWORD": {"name": JOB, "key": "old-password"},
        "NEW_PASSWORD": {"name": JOB, "key": "new-password"},
    }
    literal = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    assert literal["PGHOST"] == NAMES.postgres and literal["PGUSER"] == "litemaas_admin"


@pytest.mark.parametrize("state", ["pending", "running", "failed"])
def test_no_password_in_the_job(state):
    text = json.dumps(find(rendered(state), "Job", JOB))
    for value in (OLD, NEW, json.dumps(OLD)[1:-1], json.dumps(NEW)[1:-1]):
        assert value not in text
    assert ":'new_password'" in SCRIPT and "\\getenv new_password NEW_PASSWORD" in SCRIPT


def test_the_job_pod_meets_the_restricted_pod_security_standard():
    pod = find(rendered(), "Job", JOB)["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == NAMES.service_account  # the admission policy's rule
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsUser"] != 0
    for key in ("hostNetwork", "hostPID", "hostIPC", "volumes"):
        assert key not in pod
    sc = pod["containers"][0]["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc.get("privileged", False) is False


def test_the_job_template_follows_nothing_that_changes_while_it_exists():
    """A Job's template is immutable: a new version or new scheduling must not touch it."""
    scheduling = {"nodeSelector": {"disk": "ssd"}, "replicas": 1}
    first = find(rendered(), "Job", JOB)["spec"]["template"]
    second = find(rendered(spec={"version": "0.6.0", "database": scheduling}), "Job", JOB)["spec"][
        "template"
    ]
    assert first == second
    assert "app.kubernetes.io/version" not in first["metadata"]["labels"]
    assert find(rendered(), "Job", JOB)["spec"]["backoffLimit"] >= 1


@pytest.mark.parametrize("state", ["succeeded"])
def test_no_job_once_it_succeeded_or_without_a_rotation(state):
    assert not [o for o in rendered(state) if o["kind"] == "Job"]
    assert not [o for o in render({}).objects if o["kind"] == "Job"]
    external = {"database": {"mode": "external", "external": {"secretName": "pg-urls"}}}
    assert not [o for o in rendered("pending", external) if o["kind"] == "Job"]


def test_the_job_name_fits_a_label_and_hides_the_passwords():
    longest = Names(type(INSTANCE)("a" * 40, "team-a"))
    assert len(rotation_job_name(longest, KEY, OLD, NEW, POSTGRES_IMAGE)) <= 63
    assert OLD not in JOB and NEW not in JOB
    others = {
        rotation_job_name(NAMES, KEY, OLD, "another", POSTGRES_IMAGE),
        rotation_job_name(NAMES, KEY, "another", NEW, POSTGRES_IMAGE),
        rotation_job_name(NAMES, KEY, OLD, NEW, "registry.example.com/postgres:16"),
        rotation_job_name(NAMES, "another-key" * 4, OLD, NEW, POSTGRES_IMAGE),
    }
    assert JOB not in others and len(others) == 4


def test_only_the_database_admits_the_job():
    objects = rendered()
    labels = find(objects, "Job", JOB)["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == COMPONENT
    policies = tuple(o for o in objects if o["kind"] == "NetworkPolicy")

    def pod_of(kind: str, name: str) -> Pod:
        template = find(objects, kind, name)["spec"]["template"]
        return Pod(name, INSTANCE.namespace, template["metadata"]["labels"])

    admin = Pod("job", INSTANCE.namespace, labels)
    postgres = pod_of("StatefulSet", NAMES.postgres)
    redis = pod_of("Deployment", NAMES.redis)
    cluster = Cluster({INSTANCE.namespace: {}}, (admin, postgres, redis), policies)
    assert cluster.can_connect(admin, postgres, 5432)
    assert not cluster.can_connect(admin, redis, 6379)


# The reconciler's side --------------------------------------------------------------------


class OnlyPVC:
    """A client that answers GET of the data volume from a fixed answer and refuses the rest."""

    def __init__(self, pvc: dict[str, Any] | None) -> None:
        self.pvc = pvc
        self.calls: list[tuple[str, str]] = []

    async def get(self, kind: str, name: str, namespace: str | None = None) -> Any:
        self.calls.append((kind, name))
        assert (kind, name) == ("PersistentVolumeClaim", NAMES.postgres_pvc)
        return self.pvc


def postgres_secret(password: str) -> dict[str, Any]:
    encoded = base64.b64encode(password.encode()).decode()
    return {"metadata": {"name": NAMES.postgres}, "data": {"password": encoded}}


def rotate(
    live: dict[tuple[str, str], Any], wanted: str = NEW, pvc: dict[str, Any] | None = None
) -> tuple[dict[str, str], PasswordRotation | None, Gathered, OnlyPVC]:
    kube = OnlyPVC(pvc)
    gathered = Gathered(facts=None)
    values = {**CREDENTIALS, "postgres-password": wanted}
    out, rotation = asyncio.run(
        rotate_database_password(
            kube,  # type: ignore[arg-type]
            LiteMaaSSpec(),
            INSTANCE,
            live,
            values,
            gathered,
        )
    )
    return out, rotation, gathered, kube


def test_steady_state_changes_nothing_and_asks_nothing():
    values, rotation, gathered, kube = rotate({("Secret", NAMES.postgres): postgres_secret(NEW)})
    assert rotation is None and values["postgres-password"] == NEW
    assert kube.calls == [] and gathered.problems == []


def test_while_the_job_has_not_succeeded_every_pod_keeps_the_old_password():
    live = {
        ("Secret", NAMES.postgres): postgres_secret(OLD),
        ("PersistentVolumeClaim", NAMES.postgres_pvc): PVC,
    }
    for listed in (None, job()):
        listing = {**live, ("Job", JOB): listed} if listed else live
        values, rotation, _, kube = rotate(listing)
        assert rotation is not None and rotation.state in ("pending", "running")
        assert values["postgres-password"] == OLD
        assert kube.calls == []  # the volume was in the listing
        objects = render({}, password_rotation=rotation, credentials=values).objects
        backend = find(objects, "Secret", NAMES.backend)["data"]["database-url"]
        pg = find(objects, "Secret", NAMES.postgres)["data"]["password"]
        assert base64.b64decode(pg).decode() == OLD
        assert "old-pass%27word" in base64.b64decode(backend).decode()
        assert find(objects, "Job", JOB)


def test_after_the_job_succeeded_the_new_password_rolls_and_the_job_goes():
    live = {
        ("Secret", NAMES.postgres): postgres_secret(OLD),
        ("PersistentVolumeClaim", NAMES.postgres_pvc): PVC,
        ("Job", JOB): job(("Complete", "CompletionsReached")),
    }
    values, rotation, _, _ = rotate(live)
    assert rotation is None and values["postgres-password"] == NEW
    objects = render({}, credentials=values).objects
    assert not [o for o in objects if o["kind"] == "Job"]  # so it is pruned


def test_a_failed_job_stalls_and_keeps_the_old_password():
    live = {
        ("Secret", NAMES.postgres): postgres_secret(OLD),
        ("PersistentVolumeClaim", NAMES.postgres_pvc): PVC,
        ("Job", JOB): job(("Failed", "BackoffLimitExceeded")),
    }
    values, rotation, gathered, _ = rotate(live)
    assert rotation is not None and rotation.state == "failed"
    assert values["postgres-password"] == OLD
    (problem,) = gathered.problems
    assert (problem.kind, problem.reason) == ("invalid", "DatabasePasswordRotationFailed")
    assert JOB in problem.message and "docs/credentials.md" in problem.message
    assert OLD not in problem.message and NEW not in problem.message


def test_without_a_volume_the_new_password_is_used_at_once():
    values, rotation, _, kube = rotate({("Secret", NAMES.postgres): postgres_secret(OLD)})
    assert rotation is None and values["postgres-password"] == NEW
    assert kube.calls == [("PersistentVolumeClaim", NAMES.postgres_pvc)]


# The status -------------------------------------------------------------------------------

READY = ComponentState(True, "Ready", "1/1 ready", 1, 1)


def status_for(
    rotation: PasswordRotation | None, problems: Sequence[Problem] = ()
) -> dict[str, Any]:
    facts = ClusterFacts(platform="openshift", password_rotation=rotation)
    states = {k: READY for k in ("database", "redis", "litellm", "backend", "frontend", "auth")}
    states = fold_rotation(states, facts)
    obs = Observation(1, "0.5.0", "openshift", states, None, list(problems))
    return report_rotation(compute_status(obs, None), facts, 1, None)


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


def test_a_rotation_in_progress_is_reconciling_not_ready():
    status = status_for(PasswordRotation(JOB, OLD, NEW, "running"))
    conds = conditions(status)
    assert status["phase"] == "Progressing"
    assert conds["Ready"]["status"] == "False"
    assert conds["Reconciling"]["status"] == "True"
    assert conds["DatabaseReady"]["reason"] == "DatabasePasswordRotating"
    assert conds["DatabasePasswordRotating"]["status"] == "True"
    assert JOB in conds["DatabasePasswordRotating"]["message"]
    assert OLD not in json.dumps(status) and NEW not in json.dumps(status)


def test_a_failed_rotation_is_stalled_with_its_reason():
    rotation = PasswordRotation(JOB, OLD, NEW, "failed", "BackoffLimitExceeded: too many")
    live = {
        ("Secret", NAMES.postgres): postgres_secret(OLD),
        ("PersistentVolumeClaim", NAMES.postgres_pvc): PVC,
        ("Job", JOB): job(("Failed", "BackoffLimitExceeded")),
    }
    _, _, gathered, _ = rotate(live)
    status = status_for(rotation, gathered.problems)
    conds = conditions(status)
    assert status["phase"] == "Stalled"
    assert conds["Stalled"]["reason"] == "DatabasePasswordRotationFailed"
    assert conds["DatabasePasswordRotating"]["status"] == "False"
    assert conds["DatabasePasswordRotating"]["reason"] == "Failed"


def test_no_rotation_no_condition():
    status = status_for(None)
    assert "DatabasePasswordRotating" not in conditions(status)
    assert status["phase"] == "Ready"


def test_lost_credentials_stall_naming_the_volume_and_the_runbook():
    problem = credentials_lost(NAMES, ["postgres-password", "litellm-salt-key"], volume=True)
    status = status_for(None, [problem])
    stalled = conditions(status)["Stalled"]
    assert status["phase"] == "Stalled" and stalled["reason"] == "CredentialsLost"
    assert NAMES.postgres_pvc in stalled["message"]
    assert "docs/credentials.md#credentialslost" in stalled["message"]
    assert "postgres-password" in stalled["message"]


def test_the_rotation_job_is_pruned_but_a_job_another_kind_controls_is_not():
    owned_by_cr = {"kind": "LiteMaaS", "name": INSTANCE.name, "controller": True}
    owned_by_backup = {"kind": "LiteMaaSBackup", "name": "nightly", "controller": True}
    live = [
        {"kind": "Job", "metadata": {"name": JOB, "ownerReferences": [owned_by_cr]}},
        {"kind": "Job", "metadata": {"name": "backup-1", "ownerReferences": [owned_by_backup]}},
    ]
    assert "Job" in NAMESPACED_KINDS
    assert [o["metadata"]["name"] for o in prunable(live, set(), set())] == [JOB]
