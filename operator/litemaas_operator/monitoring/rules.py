"""The alerts on the operator and its LiteMaaS instances, as Prometheus rule groups.

Each alert names the resource (``namespace``/``name`` labels, kept as the operator exports
them: the ServiceMonitor sets ``honorLabels``) and links its runbook,
``docs/runbooks/<alert>.md``. The operator is found by ``job="litemaas-operator"``: the
ServiceMonitor of every install path takes the job from the Service's
``app.kubernetes.io/name`` label (``jobLabel``), whatever the Service's name.

``rule_groups(for_override=...)`` renders a copy with every ``for:`` replaced, for a test
Prometheus that must not wait ten minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REPOSITORY = "https://github.com/rh-aiservices-bu/litemaas-operator"
RUNBOOKS = f"{REPOSITORY}/blob/main/docs/runbooks"
JOB = "litemaas-operator"
GROUP = "litemaas-operator"
# How far past its due time a reconcile may be before the operator counts as not reconciling:
# a reconcile waiting for a slot (--max-concurrent-reconciles) or a slow API server is late,
# not stuck.
OVERDUE_SECONDS = 300
VOLUME_FULL_RATIO = 0.8

M = "litemaas_operator_"
BACKUP_FAILED = (
    f"({M}backup_last_failure_timestamp_seconds > {M}backup_last_success_timestamp_seconds)"
    f" or ({M}backup_last_failure_timestamp_seconds"
    f" unless {M}backup_last_success_timestamp_seconds)"
)
VOLUME_USAGE = (
    "kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes"
    " * on(namespace, persistentvolumeclaim) group_left(name)"
    f" max by (namespace, persistentvolumeclaim, name) ({M}instance_volume_info)"
)


@dataclass(frozen=True)
class Alert:
    """One alerting rule."""

    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str

    @property
    def runbook_url(self) -> str:
        return f"{RUNBOOKS}/{self.name}.md"

    def rule(self, for_override: str | None = None) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": for_override or self.for_,
            "labels": {"severity": self.severity},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": self.runbook_url,
            },
        }


INSTANCE = "LiteMaaS {{ $labels.namespace }}/{{ $labels.name }}"
ALERTS: tuple[Alert, ...] = (
    Alert(
        "LiteMaaSInstanceNotReady",
        f"{M}instance_ready == 0",
        "10m",
        "warning",
        f"{INSTANCE} has not been Ready for 10 minutes",
        f"{INSTANCE} is not Ready. `kubectl describe lmaas -n {{{{ $labels.namespace }}}} "
        "{{ $labels.name }}` shows which component waits and why.",
    ),
    Alert(
        "LiteMaaSInstanceStalled",
        f"{M}instance_stalled == 1",
        "5m",
        "warning",
        f"{INSTANCE} is Stalled: {{{{ $labels.reason }}}}",
        f"{INSTANCE} cannot make progress without a person (reason {{{{ $labels.reason }}}}). "
        "The Stalled condition's message says what to change.",
    ),
    Alert(
        "LiteMaaSReconcileErrors",
        f"rate({M}instance_reconcile_errors_total[5m]) > 0",
        "10m",
        "warning",
        f"Reconciles of {INSTANCE} keep failing",
        f"The operator's reconciles of {INSTANCE} have been failing for 10 minutes "
        "(Ready reason ReconcileFailed; the operator's log has each error).",
    ),
    Alert(
        "LiteMaaSOperatorDown",
        # No scraped replica leads: all down, no target, or none holds the Lease. A standby
        # down while the leader runs is not this (nothing stops reconciling).
        f'absent({M}leader{{job="{JOB}"}} == 1)',
        "5m",
        "critical",
        "The LiteMaaS operator is down",
        "For 5 minutes no replica of the LiteMaaS operator that Prometheus scrapes has been the "
        "leader (none is up, or none holds the leader Lease): nothing reconciles LiteMaaS "
        "instances, restores drift or takes scheduled backups.",
    ),
    Alert(
        "LiteMaaSOperatorNotReconciling",
        f"time() - {M}instance_next_reconcile_timestamp_seconds > {OVERDUE_SECONDS}",
        "5m",
        "critical",
        f"The LiteMaaS operator no longer reconciles {INSTANCE}",
        f"The reconcile of {INSTANCE} has been due for more than {OVERDUE_SECONDS // 60} "
        "minutes: the operator runs but its loop for this instance is stuck.",
    ),
    Alert(
        "LiteMaaSBackupFailed",
        BACKUP_FAILED,
        "0m",
        "warning",
        f"The last backup of {INSTANCE} failed",
        f"The latest backup of {INSTANCE} failed and none has succeeded since "
        "(status.backup.lastFailed). The LiteMaaSBackup's status says why.",
    ),
    Alert(
        "LiteMaaSBackupTooOld",
        f"time() - ({M}backup_last_success_timestamp_seconds"
        f" or {M}instance_created_timestamp_seconds)"
        f" > 2 * {M}backup_schedule_interval_seconds",
        "0m",
        "warning",
        f"{INSTANCE} has no good backup within twice its schedule",
        f"The last successful backup of {INSTANCE} is older than twice the longest gap of "
        "spec.backup.schedule (an instance never backed up counts from its creation).",
    ),
    Alert(
        "LiteMaaSDatabaseVolumeFull",
        f"{VOLUME_USAGE} > {VOLUME_FULL_RATIO}",
        "5m",
        "warning",
        f"The PostgreSQL volume of {INSTANCE} is over {VOLUME_FULL_RATIO:.0%} full",
        f"{{{{ $labels.persistentvolumeclaim }}}} of {INSTANCE} is "
        "{{ $value | humanizePercentage }} full. Raise spec.database.storage.size (the operator "
        "grows the claim where the StorageClass allows expansion).",
    ),
)


def rule_groups(for_override: str | None = None) -> list[dict[str, Any]]:
    """The rule groups (a PrometheusRule's ``spec.groups``, a rules file's ``groups``)."""
    return [{"name": GROUP, "rules": [a.rule(for_override) for a in ALERTS]}]


def rules_file(for_override: str | None = None) -> dict[str, Any]:
    """A Prometheus rules file (``promtool check rules``, ``rule_files:``)."""
    return {"groups": rule_groups(for_override)}


def prometheus_rule(name: str, namespace: str | None, labels: dict[str, str]) -> dict[str, Any]:
    """The PrometheusRule of the operator's alerts."""
    meta: dict[str, Any] = {"name": name, "labels": dict(labels)}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": meta,
        "spec": {"groups": rule_groups()},
    }
