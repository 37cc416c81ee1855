"""Never lose the key to the data, on a real API server with the real operator process.

- The credentials store deleted by hand is rebuilt from the derived Secrets with identical
  values, and no pod rolls.
- With every copy gone while the data volume exists, the CR is Stalled (``CredentialsLost``)
  and nothing is re-created with a new password; putting the store back as docs/credentials.md
  says brings the instance back with its old values.
- A changed ``spec.secrets.postgresPassword`` is given to the database role by a Job before the
  Secrets and pods move to it. On the harness, kwok marks the Job's pod Succeeded without running
  it (no PostgreSQL runs here): this proves the order of the steps, not the SQL, which runs on a
  real server in tests/postgres/test_password_rotation_sql.py.

Values are compared, never printed: assertions name keys only.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

import pytest
from kubernetes import client, watch

from harness.waiting import wait_until
from litemaas_operator import credentials
from litemaas_operator.render.names import RETAIN_LABEL
from support.crs import GROUP, PLURAL, VERSION, CRs, sample
from support.operator import OperatorProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
on_openshift = pytest.mark.parametrize("cluster", ["openshift"], indirect=True)

NAME = "litemaas"
STORE = f"{NAME}-credentials"
PG = f"{NAME}-postgres"
DERIVED = (PG, f"{NAME}-backend", f"{NAME}-litellm", f"{NAME}-redis")
PVC = f"data-{PG}-0"
WORKLOADS = (
    ("StatefulSet", PG),
    *(("Deployment", f"{NAME}-{c}") for c in ("redis", "litellm", "backend", "frontend")),
)
USER_SECRET = "pg-password"


def every_credential_in_use() -> dict[str, Any]:
    """The OpenShift sample with a cluster-scoped OAuthClient: then every generated credential,
    the OAuth client secret included, is copied into some derived Secret."""
    body = sample("litemaas-cr")
    body["spec"]["auth"]["mode"] = "oauthclient"
    return body


def differing(got: dict[str, str] | None, want: dict[str, str]) -> list[str]:
    """Keys whose values differ or are missing (names only: a failure prints no secret)."""
    got = got or {}
    return sorted(k for k in set(want) | set(got) if got.get(k) != want.get(k))


def templates(crs: CRs) -> dict[str, Any]:
    """The pod templates of every workload, as plain data."""
    api = crs.apps.api_client
    out = {}
    for kind, name in WORKLOADS:
        read = (
            crs.apps.read_namespaced_stateful_set
            if kind == "StatefulSet"
            else crs.apps.read_namespaced_deployment
        )
        out[name] = api.sanitize_for_serialization(read(name, crs.namespace).spec.template)
    return out


def wait_for_volume(crs: CRs) -> None:
    """The StatefulSet controller has created the data volume's claim."""

    def exists() -> bool:
        try:
            return bool(crs.core.read_namespaced_persistent_volume_claim(PVC, crs.namespace))
        except client.ApiException as err:
            if err.status == 404:
                return False
            raise

    wait_until(exists, 60, what=f"PersistentVolumeClaim {PVC}")


@on_openshift
def test_a_deleted_store_is_rebuilt_with_identical_values(crs: CRs, operator: OperatorProcess):
    crs.create(every_credential_in_use())
    crs.wait_ready()
    wait_for_volume(crs)
    before = crs.secret(STORE)
    assert before is not None and sorted(before) == sorted(c.key for c in credentials.EVERY)
    pods = templates(crs)

    crs.core.delete_namespaced_secret(STORE, crs.namespace)
    wait_until(lambda: crs.secret(STORE) is not None, 30, what="the store rebuilt")

    assert differing(crs.secret(STORE), before) == []
    store = crs.core.read_namespaced_secret(STORE, crs.namespace)
    assert (store.metadata.labels or {}).get(RETAIN_LABEL) == "true"
    assert not store.metadata.owner_references  # still outlives the CR
    crs.wait_ready()
    # The config-hash key came back too: no annotation changed, so no pod rolled.
    assert templates(crs) == pods


@on_openshift
def test_with_every_copy_gone_it_stalls_and_recreates_nothing(crs: CRs, operator: OperatorProcess):
    crs.create(every_credential_in_use())
    crs.wait_ready()
    wait_for_volume(crs)
    before = crs.secret(STORE)
    assert before is not None
    pods = templates(crs)

    # The operator down while every copy goes, so it cannot rebuild from a half-deleted set.
    operator.stop()
    for name in (STORE, *DERIVED):
        crs.core.delete_namespaced_secret(name, crs.namespace)
    operator.start()

    stalled = crs.wait_condition(NAME, "Stalled", "True", timeout=60)
    assert stalled["reason"] == "CredentialsLost"
    assert PVC in stalled["message"] and "docs/credentials.md#credentialslost" in stalled["message"]
    ready = crs.condition(NAME, "Ready")
    assert ready is not None and ready["status"] == "False"
    # A few more reconciles (a resync, child events) must not change that.
    operator.restart()
    crs.wait_condition(NAME, "Stalled", "True", timeout=60)
    time.sleep(3)
    for name in (STORE, *DERIVED):
        assert crs.secret(name) is None, f"{name} was re-created"
    assert templates(crs) == pods, "a workload was changed"
    status = json.dumps((crs.get(NAME) or {}).get("status"))
    assert not any(value in status for value in before.values()), "a value reached the status"
    # A version change meanwhile starts no pre-upgrade backup: its Job could not log in.
    version = (crs.get(NAME) or {})["spec"].get("version")
    crs.patch_spec(NAME, {"version": "0.5.1"})
    wait_until(
        lambda: (
            (crs.get(NAME) or {}).get("status", {}).get("observedGeneration")
            == (crs.get(NAME) or {})["metadata"]["generation"]
        ),
        60,
        what="the new generation observed",
    )
    assert crs.condition(NAME, "Stalled")["reason"] == "CredentialsLost"
    backups = crs.custom.list_namespaced_custom_object(
        GROUP, VERSION, crs.namespace, "litemaasbackups"
    )["items"]
    assert backups == [], [b["metadata"]["name"] for b in backups]
    crs.patch_spec(NAME, {"version": version})

    # The runbook: put the store back (labelled as docs/credentials.md shows).
    crs.core.create_namespaced_secret(
        crs.namespace,
        {
            "metadata": {
                "name": STORE,
                "labels": {
                    "app.kubernetes.io/name": "litemaas",
                    "app.kubernetes.io/instance": NAME,
                    "app.kubernetes.io/component": "credentials",
                    "app.kubernetes.io/managed-by": "litemaas-operator",
                    RETAIN_LABEL: "true",
                },
            },
            "type": "Opaque",
            "stringData": before,
        },
    )
    crs.wait_condition(NAME, "Stalled", "False", timeout=60)
    crs.wait_ready()
    assert differing(crs.secret(STORE), before) == []
    pg_password = (crs.secret(PG) or {}).get("password", "")
    assert differing({"p": pg_password}, {"p": before["postgres-password"]}) == []
    assert templates(crs) == pods  # the same values: the same hashes, nothing rolled


class Recorder:
    """Watches Jobs, the postgres Secret and the CR, and records what each event showed, in
    order (booleans and names only)."""

    def __init__(self, cluster: Any, namespace: str, new_password: str) -> None:
        self.api = cluster.api_client()
        self.namespace = namespace
        self.new = new_password
        self.events: list[tuple[str, str, bool]] = []
        self.lock = threading.Lock()
        self.watches: list[watch.Watch] = []
        self.stopped = threading.Event()
        self.errors: list[str] = []
        self.threads = [
            threading.Thread(target=self._run, args=(kind,), daemon=True)
            for kind in ("job", "secret", "cr")
        ]

    def __enter__(self) -> Recorder:
        for thread in self.threads:
            thread.start()
        time.sleep(1)  # the three watches are open before anything changes
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        for w in self.watches:
            w.stop()
        self.api.close()  # ends the open streams, so the threads return
        for thread in self.threads:
            thread.join(timeout=10)

    def _record(self, what: str, name: str, flag: bool) -> None:
        with self.lock:
            self.events.append((what, name, flag))

    def _run(self, kind: str) -> None:
        try:
            self._watch(kind)
        except Exception as err:  # a stream cut by __exit__ is expected; anything else is not
            if not self.stopped.is_set():
                self.errors.append(f"{kind}: {type(err).__name__}")

    def _watch(self, kind: str) -> None:
        w = watch.Watch()
        self.watches.append(w)
        if kind == "job":
            stream = w.stream(
                client.BatchV1Api(self.api).list_namespaced_job, self.namespace, timeout_seconds=240
            )
        elif kind == "secret":
            stream = w.stream(
                client.CoreV1Api(self.api).list_namespaced_secret,
                self.namespace,
                field_selector=f"metadata.name={PG}",
                timeout_seconds=240,
            )
        else:
            stream = w.stream(
                client.CustomObjectsApi(self.api).list_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                timeout_seconds=240,
            )
        for event in stream:
            obj = event["object"]
            if kind == "job":
                conditions = obj.status.conditions or []
                done = any(c.type == "Complete" and c.status == "True" for c in conditions)
                self._record("job", obj.metadata.name, done)
            elif kind == "secret":
                data = {} if event["type"] == "DELETED" else (obj.data or {})
                value = data.get("password")
                holds_new = value is not None and base64.b64decode(value).decode() == self.new
                self._record("postgres-secret", obj.metadata.name, holds_new)
            else:
                conditions = (obj.get("status") or {}).get("conditions") or []
                rotating = any(
                    c["type"] == "DatabasePasswordRotating" and c["status"] == "True"
                    for c in conditions
                )
                self._record("cr", obj["metadata"]["name"], rotating)

    def first(self, what: str, flag: bool = True) -> int | None:
        with self.lock:
            return next(
                (i for i, (w, _, f) in enumerate(self.events) if w == what and f == flag), None
            )


@on_openshift
def test_a_changed_password_reaches_the_role_before_the_pods(
    cluster: Any, crs: CRs, operator: OperatorProcess
):
    old, new = 'first password: it\'s "quoted"', "second/pass@word ü#?"
    crs.create_secret(USER_SECRET, {"password": old})
    body = every_credential_in_use()
    body["spec"]["secrets"] = {"postgresPassword": {"name": USER_SECRET, "key": "password"}}
    crs.create(body)
    crs.wait_ready()
    wait_for_volume(crs)
    pg_template = templates(crs)[PG]

    with Recorder(cluster, crs.namespace, new) as recorded:
        crs.core.patch_namespaced_secret(
            USER_SECRET, crs.namespace, {"stringData": {"password": new}}
        )

        def rolled() -> bool:
            return (crs.secret(PG) or {}).get("password") == new

        wait_until(rolled, 90, what="the postgres Secret to hold the new password")
        crs.wait_ready()

    assert recorded.errors == [], "a watch broke: the recorded order may have gaps"
    jobs = {name for what, name, _ in recorded.events if what == "job"}
    assert len(jobs) == 1 and next(iter(jobs)).startswith(f"{NAME}-pg-password-"), jobs
    (job,) = jobs
    completed, switched = recorded.first("job"), recorded.first("postgres-secret")
    rotating = recorded.first("cr")
    assert completed is not None, "the Job never completed"
    assert switched is not None
    assert completed < switched, "the Secret changed before the Job completed"
    assert rotating is not None and rotating < completed, "DatabasePasswordRotating never shown"

    # Every copy moved to the new password, URL-encoded; the pods rolled; the Job is gone.
    backend = crs.secret(f"{NAME}-backend") or {}
    encoded = "second%2Fpass%40word%20%C3%BC%23%3F"
    ok = f":{encoded}@" in backend.get("database-url", "")
    assert ok, "the backend's database URL does not hold the new password"
    assert templates(crs)[PG] != pg_template
    batch = client.BatchV1Api(crs.core.api_client)

    def job_gone() -> bool:
        try:
            batch.read_namespaced_job(job, crs.namespace)
            return False
        except client.ApiException as err:
            return err.status == 404

    wait_until(job_gone, 30, what=f"Job {job} pruned")
    wait_until(lambda: crs.secret(job) is None, 30, what=f"Secret {job} pruned")
    assert crs.condition(NAME, "DatabasePasswordRotating") is None
