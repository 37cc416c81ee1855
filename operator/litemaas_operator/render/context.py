"""The inputs of one render, bundled so each component builder takes a single argument."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import credentials as cred
from ..api.base import Workload
from ..api.spec import LiteMaaSSpec
from ..facts import ClusterFacts, Instance
from ..upgrade.targets import Pin, WorkloadName
from .endpoints import Endpoints, Problem
from .names import Names
from .pods import config_hash, extra_env
from .targets import spec_targets


@dataclass
class RenderContext:
    """Spec, cluster facts and resolved endpoints of one instance, plus the problems found."""

    spec: LiteMaaSSpec
    facts: ClusterFacts
    instance: Instance
    endpoints: Endpoints
    problems: list[Problem] = field(default_factory=list)

    @property
    def names(self) -> Names:
        return Names(self.instance)

    def credential(self, credential: cred.Credential, component: str) -> str | None:
        """A credential's value, or None (and a problem) when it is not available."""
        value = self.facts.credentials.get(credential.key)
        if not value:
            self.wait(component, "WaitingForCredentials", f"credential {credential.key} missing")
        return value or None

    def config_hash(self, component: str, *inputs: Any) -> str | None:
        """The keyed pod-template hash of ``inputs``, or None (and a problem) without the key."""
        key = self.credential(cred.CONFIG_HASH_KEY, component)
        return None if key is None else config_hash(key, *inputs)

    def target(self, workload: WorkloadName) -> Pin:
        """The version and image ``workload`` runs now: the upgrade plan's pin, else the spec's."""
        return (self.facts.rollout or spec_targets(self.spec)).of(workload)

    def wait(self, component: str, reason: str, message: str) -> None:
        """Record that ``component`` cannot be rendered yet."""
        self.problems.append(Problem("waiting", component, reason, message))

    @staticmethod
    def extra_env(workload: Workload) -> list[dict[str, Any]]:
        """The user's extra env for a component."""
        return extra_env(workload.extra_env)
