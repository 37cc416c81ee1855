"""LiteMaaSBackup and LiteMaaSRestore resources, their Jobs and Events, on a test cluster.

kwok plays the kubelet: it marks a Job's pod Succeeded without running its container, so the
backup and restore scripts never run here (tests/postgres/ runs them on a real server). What
these helpers drive is the controller side: objects, Jobs, statuses, Events. A failing pod is
simulated the way a kubelet reports one: its status is written Failed with a terminated
container and a termination message, on a pod kwok leaves alone (see ``fail_pod``).
"""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from harness.waiting import wait_until
from support.crs import GROUP, VERSION, CRs

BACKUPS, RESTORES = "litemaasbackups", "litemaasrestores"


class Backups:
    """Backups, restores, Jobs, pods and Events in one namespace."""

    def __init__(self, crs: CRs) -> None:
        self.crs = crs
        self.namespace = crs.namespace
        self.custom = crs.custom
        self.batch = client.BatchV1Api(crs.custom.api_client)
        self.core = crs.core

    # ---- objects -------------------------------------------------------------------------

    def _create(self, plural: str, kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": kind,
            "metadata": {"name": name},
            "spec": spec,
        }

        def create() -> dict[str, Any] | None:
            try:
                return self.custom.create_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, plural, body
                )
            except ApiException as err:
                if err.status == 404:  # the CRD was applied a moment ago: not served yet
                    return None
                raise

        return wait_until(create, 30, what=f"{kind} {name} created")

    def backup(self, name: str, instance: str = "litemaas", reason: str = "manual") -> None:
        """Create a LiteMaaSBackup, as a person (or the upgrade) would."""
        self._create(BACKUPS, "LiteMaaSBackup", name, {"instance": instance, "reason": reason})

    def restore(self, name: str, backup: str, instance: str = "litemaas") -> None:
        """Create a LiteMaaSRestore."""
        self._create(RESTORES, "LiteMaaSRestore", name, {"instance": instance, "backup": backup})

    def get(self, plural: str, name: str) -> dict[str, Any] | None:
        """One backup or restore, or None."""
        try:
            return self.custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, name
            )
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    def list(self, plural: str = BACKUPS) -> list[dict[str, Any]]:
        """Every backup (or restore) in the namespace."""
        return self.custom.list_namespaced_custom_object(GROUP, VERSION, self.namespace, plural)[
            "items"
        ]

    def delete(self, plural: str, name: str) -> None:
        """Delete a backup or restore (returns at once)."""
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name)

    def remove_all(self, timeout: float = 60) -> None:
        """Delete every backup and restore, and wait until they are gone.

        Called while the operator still runs: a backup holds a finalizer until its files are
        pruned, and a namespace deleted after the operator stopped would never finish.
        """
        # No schedule any more, or a slot could add a backup while the others go.
        for cr in self.custom.list_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "litemaases"
        )["items"]:
            if (cr["spec"].get("backup") or {}).get("schedule"):
                self.custom.patch_namespaced_custom_object(
                    GROUP,
                    VERSION,
                    self.namespace,
                    "litemaases",
                    cr["metadata"]["name"],
                    {"spec": {"backup": {"schedule": None}}},
                )
        for plural in (RESTORES, BACKUPS):
            for obj in self.list(plural):
                try:
                    self.delete(plural, obj["metadata"]["name"])
                except ApiException as err:
                    if err.status != 404:
                        raise
        wait_until(
            lambda: not self.list(BACKUPS) and not self.list(RESTORES),
            timeout,
            what="every backup and restore deleted",
        )

    def phase(self, plural: str, name: str) -> str | None:
        """status.phase of a backup or restore."""
        return ((self.get(plural, name) or {}).get("status") or {}).get("phase")

    def wait_phase(self, plural: str, name: str, phase: str, timeout: float = 60) -> dict[str, Any]:
        """Wait until a backup or restore reaches ``phase``; returns it."""

        def reached() -> dict[str, Any] | None:
            obj = self.get(plural, name)
            return obj if ((obj or {}).get("status") or {}).get("phase") == phase else None

        try:
            return wait_until(reached, timeout, 0.2, what=f"{plural}/{name} {phase}")
        except TimeoutError as err:
            status = (self.get(plural, name) or {}).get("status")
            raise TimeoutError(f"{err}; status: {status}") from None

    def wait_gone(self, plural: str, name: str, timeout: float = 60) -> None:
        """Wait until a backup or restore no longer exists."""
        wait_until(lambda: self.get(plural, name) is None, timeout, 0.2, what=f"{name} gone")

    # ---- Jobs, pods, Events ------------------------------------------------------------------

    def jobs(self, operation: str | None = None) -> list[Any]:
        """The operator's backup, restore and prune Jobs in the namespace."""
        selector = "app.kubernetes.io/component=backup"
        if operation:
            selector += f",litemaas.io/operation={operation}"
        return self.batch.list_namespaced_job(self.namespace, label_selector=selector).items

    def job_for(self, target: str) -> Any:
        """The Job working for one backup or restore, or None."""
        for job in self.jobs():
            if (job.metadata.annotations or {}).get("litemaas.io/target") == target:
                return job
        return None

    def pods_of(self, job: str) -> list[Any]:
        """The pods of one Job."""
        return self.core.list_namespaced_pod(
            self.namespace, label_selector=f"batch.kubernetes.io/job-name={job}"
        ).items

    def fail_pod(self, job: str, message: str) -> None:
        """Report a Job's pod as failed, as a kubelet would when the container exits 1.

        Works on a pod kwok does not manage: one that was never scheduled (its volume is not
        bound), so no stage overwrites what is written here.
        """
        pod = wait_until(lambda: (self.pods_of(job) or [None])[0], 30, what=f"pod of {job}")
        assert not pod.spec.node_name, "a scheduled pod would be completed by kwok"
        container = pod.spec.containers[0]
        status = {
            "phase": "Failed",
            "conditions": [{"type": "Ready", "status": "False", "reason": "PodFailed"}],
            "containerStatuses": [
                {
                    "name": container.name,
                    "image": container.image,
                    "imageID": "",
                    "ready": False,
                    "restartCount": 0,
                    "state": {
                        "terminated": {
                            "exitCode": 1,
                            "reason": "Error",
                            "message": message,
                            "startedAt": "2026-01-01T00:00:00Z",
                            "finishedAt": "2026-01-01T00:00:01Z",
                        }
                    },
                }
            ],
        }
        self.core.patch_namespaced_pod_status(pod.metadata.name, self.namespace, {"status": status})

    def events(self, name: str) -> list[tuple[str, str, str]]:
        """(type, reason, message) of the Events about one object, oldest first."""
        items = self.core.list_namespaced_event(
            self.namespace, field_selector=f"involvedObject.name={name}"
        ).items
        # By resourceVersion, the order of creation: timestamps have whole seconds, and two
        # Events of one reconcile often share one.
        items.sort(key=lambda e: int(e.metadata.resource_version))
        return [(e.type, e.reason, e.message) for e in items]

    def replicas(self, deployment: str) -> int | None:
        """spec.replicas of one Deployment."""
        found = self.crs.deployment(deployment)
        return None if found is None else found.spec.replicas
