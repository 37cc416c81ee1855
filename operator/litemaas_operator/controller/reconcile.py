"""One reconcile of one LiteMaaS CR, in the order of design.md:

list children -> gather facts -> render (pure) -> apply what drifted -> prune -> groups ->
observe -> status (written only when it changed).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from ..api.spec import LiteMaaSSpec
from ..facts import ClusterFacts, Instance
from ..render import desired_state, monitoring
from ..render.endpoints import Problem, resolve_auth_mode
from ..render.names import Names, instance_selector
from ..upgrade.plan import UpgradePlan
from . import metrics, observability, refusals, upgrades
from .acted import Acted, is_quiet
from .apply import (
    NAMESPACED_KINDS,
    apply_waves,
    key,
    needs_apply,
    owner_reference,
    prunable,
    stamped,
    with_owner,
)
from .backups import BackupController
from .conditions import ComponentState, Observation, compute_status, status_changed
from .data_keys import fold_rotation, report_rotation
from .gather import gather, served_groups
from .groups import sync_groups
from .kube import KINDS, ApiError, Kube
from .oauthclients import prune_oauth_clients, sync_oauth_client
from .observe import observe
from .registry import Registry
from .route_status import route_problems
from .stuck_pods import DEFAULT_DEADLINE_SECONDS, explain_stuck
from .together import gather_all
from .volumes import Resize, report_resizing, resize_volumes

STATUS_KEYS = (
    "observedGeneration",
    "phase",
    "version",
    "platform",
    "conditions",
    "urls",
    "components",
    "backup",
)


@dataclass
class Outcome:
    """What one reconcile did, for logs, metrics and tests."""

    applied: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    status_written: bool = False
    ready: bool = False
    problems: list[Problem] = field(default_factory=list)
    requeue_after: float | None = None  # reconcile again this soon (stuck pods, backups)


def spec_error_message(err: ValidationError) -> str:
    """A validation error as one line per field, e.g. ``spec.redis.replicas: ...``."""
    return "; ".join(
        ".".join(str(p) for p in ("spec", *e["loc"])) + f": {e['msg']}" for e in err.errors()
    )


async def list_children(
    kube: Kube, instance: Instance, served: set[str]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Every labelled child of ``instance`` in its namespace, keyed by (kind, name)."""
    selector = instance_selector(instance)
    kinds = [
        k
        for k in NAMESPACED_KINDS
        if KINDS[k].api_version in served
        or KINDS[k].api_version in ("v1", "apps/v1", "networking.k8s.io/v1")
    ]

    async def one(kind: str) -> list[dict[str, Any]]:
        items = await kube.list(kind, instance.namespace, selector)
        for item in items:
            item.setdefault("kind", kind)
        return items

    results = await asyncio.gather(*(one(k) for k in kinds))
    return {key(obj): obj for items in results for obj in items}


def auth_state(
    mode: str, live: dict, names: Names, oauth_client_rendered: bool, problems: list[Problem]
) -> tuple[bool, str, str]:
    """Whether login is wired up, judged from the objects the auth mode needs."""
    auth_problems = [p for p in problems if p.component == "auth"]
    if auth_problems:
        return False, auth_problems[0].reason, auth_problems[0].message
    if mode == "oauthclient":
        if not oauth_client_rendered:
            return False, "WaitingForCallbackURL", "the OAuthClient needs the frontend's host"
        return True, "OAuthClientReady", "OAuthClient is configured"
    if mode == "serviceaccount":
        token = (live.get(("Secret", names.oauth_token)) or {}).get("data", {}).get("token")
        if not token:
            return (
                False,
                "WaitingForServiceAccountToken",
                (f"Secret {names.oauth_token} has no token yet"),
            )
        return True, "ServiceAccountReady", "ServiceAccount is the OAuth client"
    return True, "OIDCConfigured", "OIDC provider is configured"


class Reconciler:
    """Reconciles CRs with one client and registry."""

    def __init__(
        self,
        kube: Kube,
        registry: Registry,
        progress_deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    ) -> None:
        self.kube = kube
        self.registry = registry
        self.progress_deadline_seconds = progress_deadline_seconds  # stuck pods -> Stalled
        # Per CR, what its last whole reconcile found, for observe-only passes.
        self.acted: dict[tuple[str, str], Acted] = {}

    async def write_status(self, body: dict[str, Any], status: dict[str, Any]) -> bool:
        """Patch the status subresource if anything changed; True if it wrote."""
        await observability.status_computed(self.kube, body, status)  # metrics, Events
        old = body.get("status") or {}
        if not status_changed(old, status) and not any(
            k in old and k not in status for k in STATUS_KEYS
        ):
            return False
        patch = {k: status.get(k) for k in STATUS_KEYS}  # None removes a stale field
        meta = body["metadata"]
        await self.kube.patch(
            "LiteMaaS", meta["name"], meta["namespace"], {"status": patch}, subresource="status"
        )
        return True

    async def reconcile(self, body: dict[str, Any]) -> Outcome:
        """Make one CR's children match its spec and report what is there."""
        started = time.monotonic()
        try:
            return await self._reconcile(body)
        finally:
            metrics.RECONCILE_SECONDS.observe(time.monotonic() - started)

    async def _reconcile(self, body: dict[str, Any]) -> Outcome:
        meta = body["metadata"]
        instance = Instance(meta["name"], meta["namespace"])
        names = Names(instance)
        generation = int(meta.get("generation") or 0)
        outcome = Outcome()
        try:
            spec = LiteMaaSSpec.model_validate(body.get("spec") or {})
        except ValidationError as err:
            # The CRD schema catches most of this; what gets here (a rule only pydantic has)
            # is reported, not retried in a loop.
            problem = Problem("invalid", "spec", "InvalidSpec", spec_error_message(err))
            outcome.problems = [problem]
            obs = Observation(
                generation,
                (body.get("status") or {}).get("version"),  # still what runs
                None,
                {},
                None,
                [problem],
            )
            outcome.status_written = await self.write_status(
                body, compute_status(obs, body.get("status"))
            )
            return outcome

        served = await served_groups(self.kube, self.registry)
        live = await list_children(self.kube, instance, served)
        gathered = await gather(self.kube, spec, instance, live, served, self.registry)
        self.registry.reads((instance.namespace, instance.name), gathered.secrets_read)
        problems = list(gathered.problems)
        # Which version each LiteMaaS workload may run now: the spec's, or held by an upgrade.
        upgrade = await upgrades.prepare(
            self.kube, body, spec, instance, live, may_back_up=gathered.facts is not None
        )
        problems += upgrades.problems(upgrade)
        endpoints = None
        apply_errors: list[str] = []
        desired: list[dict[str, Any]] = []
        resize = Resize()
        backups: BackupController | None = None
        if gathered.facts is not None:
            facts = replace(gathered.facts, rollout=upgrade.targets)
            state = desired_state(spec, facts, instance)
            state.objects += monitoring.build(spec, instance, served, facts.platform)
            # Backups and restores: the backup volume, and the writers stopped for a restore.
            backups = await BackupController.prepare(
                self.kube, body, spec, instance, gathered.facts.platform
            )
            state.objects = backups.render(state.objects)
            endpoints = state.endpoints
            problems += state.problems
            owner = owner_reference(body)
            # Volume growth first: it holds back what the apply must not change (yet).
            resize = await resize_volumes(self.kube, instance, state.objects, live)
            problems += resize.problems
            outcome.applied += resize.done
            desired = [stamped(with_owner(o, owner)) for o in resize.objects]
            uid = meta["uid"]
            written: set[tuple[str, str]] = set()
            refused: dict[tuple[str, str], str] = {}

            async def write(obj: dict[str, Any]) -> None:
                if obj["kind"] == "OAuthClient":
                    changed, problem = await sync_oauth_client(self.kube, obj, instance, uid)
                    if changed:
                        written.add(key(obj))
                    if problem is not None:
                        problems.append(problem)
                    return
                if not needs_apply(obj, live.get(key(obj))):
                    return
                try:
                    applied = await self.kube.apply(obj)
                except ApiError as err:
                    if err.status not in (400, 403, 422):
                        raise
                    # A person must act (immutable field, forbidden, invalid): say so.
                    refused[key(obj)] = refusals.describe(obj, err.message)
                    return
                applied.setdefault("kind", obj["kind"])
                live[key(obj)] = applied
                written.add(key(obj))

            for wave in apply_waves(desired):
                # All of a wave at once: one reconcile's writes overlap instead of queueing.
                await gather_all(write(obj) for obj in wave)
            for obj in desired:  # reported in the rendered order, whichever finished first
                if key(obj) in written:
                    outcome.applied.append("/".join(key(obj)))
                    metrics.APPLIES.labels(kind=obj["kind"]).inc()
                if key(obj) in refused:
                    apply_errors.append(refused[key(obj)])
            desired_keys = {key(o) for o in desired}
            protected = {names.credentials, names.oauth_token}
            for obj in prunable(live.values(), desired_keys, protected):
                await self.kube.delete(obj["kind"], obj["metadata"]["name"], instance.namespace)
                live.pop(key(obj), None)
                outcome.pruned.append("/".join(key(obj)))
            if gathered.facts.has_oauth_api:
                wanted = {o["metadata"]["name"] for o in desired if o["kind"] == "OAuthClient"}
                for name in await prune_oauth_clients(self.kube, instance, uid, wanted):
                    outcome.pruned.append(f"OAuthClient/{name}")
            if gathered.facts.has_user_api:
                await sync_groups(self.kube, instance, state.groups)
            # A Route the routers refused (a host held elsewhere) serves nothing.
            problems += route_problems(live, names)
        found = gathered.facts
        acted = Acted(
            uid=meta["uid"],
            generation=generation,
            served=frozenset(served),
            platform=found.platform if found else None,
            mode=resolve_auth_mode(spec, found) if found else "oidc",
            oauth_client_rendered=any(o["kind"] == "OAuthClient" for o in desired),
            problems=problems,
            apply_errors=apply_errors,
            endpoints=endpoints,
            upgrade=upgrade,
            backups=None,
            # Without the rendered objects: kept per CR, it must stay small.
            resize=Resize(
                plan=replace(resize.plan, objects=[]) if resize.plan else None, done=resize.done
            ),
        )
        components = observed(spec, names, live, acted)
        if backups is not None:
            components = await backups.act(live, components)
            outcome.requeue_after = backups.requeue_after
            acted.backups = backups.report()
        rotating = found is not None and found.password_rotation is not None
        acted.quiet = backups is not None and is_quiet(
            upgrade, backups, resize, apply_errors, rotating
        )
        if outcome.requeue_after is not None:
            acted.due_at = time.monotonic() + outcome.requeue_after
        await self._report(body, spec, live, components, upgrade, acted, outcome, found)
        self.acted[(instance.namespace, instance.name)] = acted
        return outcome

    async def observe(self, body: dict[str, Any]) -> Outcome | None:
        """Report a child's status news without rendering or applying, from what the last
        whole reconcile found (``acted``); None when that is not sound now (a whole reconcile
        must run instead)."""
        meta = body["metadata"]
        instance = Instance(meta["name"], meta["namespace"])
        acted = self.acted.get((instance.namespace, instance.name))
        generation = int(meta.get("generation") or 0)
        if acted is None or not acted.observable(meta.get("uid"), generation, time.monotonic()):
            return None
        spec = LiteMaaSSpec.model_validate(body.get("spec") or {})
        live = await list_children(self.kube, instance, set(acted.served))
        upgrade = upgrades.replan(acted.upgrade, upgrades.plan_input(body, spec, instance, live))
        if upgrade is None:  # the plan moved: a whole reconcile acts on it
            return None
        outcome = Outcome(requeue_after=acted.due_in(time.monotonic()))
        components = observed(spec, Names(instance), live, acted)
        await self._report(body, spec, live, components, upgrade, acted, outcome, None)
        return outcome

    def forget(self, key: tuple[str, str]) -> None:
        """Drop what was kept for a CR whose loop ended."""
        self.acted.pop(key, None)

    async def _report(
        self,
        body: dict[str, Any],
        spec: LiteMaaSSpec,
        live: dict[tuple[str, str], dict[str, Any]],
        components: dict[str, ComponentState],
        upgrade: UpgradePlan,
        acted: Acted,
        outcome: Outcome,
        facts: ClusterFacts | None,
    ) -> None:
        """The reporting half: fold in what is under way, explain stuck pods, write the status."""
        meta = body["metadata"]
        instance = Instance(meta["name"], meta["namespace"])
        generation = int(meta.get("generation") or 0)
        components = acted.resize.fold(components)
        components = upgrades.fold(components, upgrade)
        components = fold_rotation(components, facts)
        # Why pods are stuck (one pod LIST, only while a component is not ready).
        stuck = await explain_stuck(
            self.kube, instance, live, components, self.progress_deadline_seconds
        )
        components, outcome.requeue_after = stuck.components, stuck.sooner(outcome.requeue_after)
        obs = Observation(
            generation=generation,
            version=upgrade.running_version,
            platform=acted.platform,
            components=components,
            endpoints=acted.endpoints,
            problems=acted.problems,
            apply_errors=acted.apply_errors,
        )
        status = compute_status(obs, body.get("status"))
        if acted.backups is not None:
            acted.backups.decorate(status, body.get("status"), generation)
        status = await report_resizing(self.kube, body, status, acted.resize)
        status = await upgrades.report_upgrade(self.kube, body, status, upgrade)
        status = report_rotation(status, facts, generation, body.get("status"))
        status = observability.report(status, spec, set(acted.served), body.get("status"))
        outcome.status_written = await self.write_status(body, status)
        outcome.ready = status["phase"] == "Ready"
        outcome.problems = acted.problems


def observed(
    spec: LiteMaaSSpec,
    names: Names,
    live: dict[tuple[str, str], dict[str, Any]],
    acted: Acted,
) -> dict[str, ComponentState]:
    """Each component's state as the children show it (login: as the auth mode needs it)."""
    auth = auth_state(acted.mode, live, names, acted.oauth_client_rendered, acted.problems)
    return observe(spec, names, live, auth)
