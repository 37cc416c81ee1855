"""The adoption plan: from a detected install to the CR, the credentials and the steps. Pure.

The plan shown by ``adopt --dry-run`` is the plan run: every step is named here, in order,
with the objects it touches. Credential values are carried for the store but never printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import credentials as cred
from ..api import API_VERSION, KIND, LiteMaaSSpec
from ..facts import Instance
from ..render.names import Names
from .detect import Detected, Ref

DOWNTIME = (
    "LiteMaaS (UI, API and LiteLLM) is down from step 'stop' until the operator's pods are "
    "Ready: the old pods stop, the new PostgreSQL starts on the same data, then LiteLLM and "
    "the backend start. The operator's own share measured 5 to 7 seconds on a test cluster "
    "with simulated pods; on a real cluster expect one to a few minutes, mostly image pulls "
    "and start-up (docs/adoption.md, section 5). Hosts, sessions (JWT secret), API keys and "
    "stored model credentials keep working; the Redis cache starts empty."
)


@dataclass(frozen=True)
class Step:
    """One idempotent step of the execution, in order."""

    id: str
    description: str


@dataclass
class Plan:
    """Everything adoption will do, for printing and (later) executing."""

    detected: Detected
    instance: Instance
    cr: dict[str, Any]
    imported: dict[str, str]  # store key -> where its value comes from
    generated: list[str]  # store keys the operator generates (nothing depends on them yet)
    kept: list[str]
    replaced: list[tuple[str, str]]  # (old, new)
    deleted: list[str]
    steps: list[Step]
    notes: list[str] = field(default_factory=list)
    downtime: str = DOWNTIME

    def credential_values(self) -> dict[str, str]:
        """The values to put into the store (never print these)."""
        return {k: v for k, (v, _) in self.detected.credentials.items()}


def build_cr(detected: Detected, instance: Instance) -> dict[str, Any]:
    """The LiteMaaS CR carrying the settings read from the old install."""
    s = detected.settings
    spec: dict[str, Any] = {}
    if s.version:
        spec["version"] = s.version
    auth: dict[str, Any] = {"mode": s.auth_mode}
    if s.auth_mode == "oidc":
        auth["oidc"] = {
            "issuer": s.oauth_issuer,
            "clientId": s.oauth_client_id,
            # Imported into the store with its exact value.
            "clientSecret": {"name": Names(instance).credentials, "key": "oauth-client-secret"},
        }
        if s.oidc_groups_claim:
            auth["oidc"]["groupsClaim"] = s.oidc_groups_claim
        if s.oidc_scopes:
            auth["oidc"]["scopes"] = s.oidc_scopes
    if s.initial_admin_users:
        auth["initialAdminUsers"] = list(s.initial_admin_users)
    spec["auth"] = auth
    if s.routing != "none" or s.frontend_host:
        routing: dict[str, Any] = {}
        if s.routing == "ingress":
            routing["type"] = "ingress"
            ingress: dict[str, Any] = {}
            if s.ingress_class:
                ingress["className"] = s.ingress_class
            if not s.ingress_tls:
                ingress["tls"] = False
            elif s.ingress_tls_secret:
                ingress["tlsSecretName"] = s.ingress_tls_secret
            if ingress:
                routing["ingress"] = ingress
        for key, host, annotations in (
            ("frontend", s.frontend_host, s.frontend_annotations),
            ("litellm", s.litellm_host, s.litellm_annotations),
        ):
            endpoint: dict[str, Any] = {"host": host} if host else {}
            if annotations:
                endpoint["annotations"] = dict(annotations)
            if endpoint:
                routing[key] = endpoint
        spec["routing"] = routing
    spec["redis"] = {"enabled": s.redis}
    if s.litellm_ui_username:
        spec["litellm"] = {"uiUsername": s.litellm_ui_username}

    def storage(size: str | None, klass: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if size:
            out["size"] = size
        if klass:
            out["storageClassName"] = klass
        return out

    spec["database"] = {"storage": storage(s.database_size, s.database_storage_class)}
    if detected.backup_claim:
        spec["backend"] = {"backupStorage": storage(s.backup_size, s.backup_storage_class)}
    if s.groups:
        spec["groups"] = {
            "manage": True,
            **{
                key: list(s.groups.get(group, []))
                for key, group in (
                    ("admins", "litemaas-admins"),
                    ("readonly", "litemaas-readonly"),
                    ("users", "litemaas-users"),
                )
            },
        }
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": instance.name, "namespace": instance.namespace},
        "spec": spec,
    }


def successors(detected: Detected, names: Names) -> dict[Ref, Ref]:
    """The operator's object that takes over each role of the old install."""
    lay = detected.layout
    table = {
        Ref("StatefulSet", lay.postgres): Ref("StatefulSet", names.postgres),
        Ref("Service", lay.postgres): Ref("Service", names.postgres),
        Ref("Secret", lay.postgres_secret): Ref("Secret", names.credentials),
        Ref("ConfigMap", lay.postgres_init): Ref("ConfigMap", names.postgres_init),
        Ref("Deployment", lay.redis): Ref("Deployment", names.redis),
        Ref("Service", lay.redis): Ref("Service", names.redis),
        Ref("Deployment", lay.litellm): Ref("Deployment", names.litellm),
        Ref("Service", lay.litellm): Ref("Service", names.litellm),
        Ref("Secret", lay.litellm_secret): Ref("Secret", names.litellm),
        Ref("Deployment", lay.backend): Ref("Deployment", names.backend),
        Ref("Service", lay.backend): Ref("Service", names.backend),
        Ref("Secret", lay.backend_secret): Ref("Secret", names.backend),
        Ref("Deployment", lay.frontend): Ref("Deployment", names.frontend),
        Ref("Service", lay.frontend): Ref("Service", names.frontend),
        Ref("PersistentVolumeClaim", detected.postgres_claim): Ref(
            "PersistentVolumeClaim", names.postgres_pvc
        ),
        Ref("PersistentVolumeClaim", lay.backend_backup): Ref(
            "PersistentVolumeClaim", names.backend_backup
        ),
    }
    for secret in lay.redis_secrets:
        table[Ref("Secret", secret)] = Ref("Secret", names.credentials)
    if lay.backend_config:
        table[Ref("ConfigMap", lay.backend_config)] = Ref("Secret", names.backend)
    if lay.service_account:
        table[Ref("ServiceAccount", lay.service_account)] = Ref(
            "ServiceAccount", names.service_account
        )
    if lay.oauth_token:
        table[Ref("Secret", lay.oauth_token)] = Ref("Secret", names.oauth_token)
    for route in lay.frontend_routes:
        table[Ref("Route", route)] = Ref("Route", names.frontend_route)
    for route in lay.litellm_routes:
        table[Ref("Route", route)] = Ref("Route", names.litellm_route)
    for ingress, component in detected.settings.ingresses.items():
        new = names.frontend_route if component == "web" else names.litellm_route
        table[Ref("Ingress", ingress)] = Ref("Ingress", new)
    return table


def plan(detected: Detected, name: str = "litemaas") -> Plan:
    """Turn a detected install into the CR, the credential imports and the ordered steps."""
    instance = Instance(name, detected.namespace)
    names = Names(instance)
    cr = build_cr(detected, instance)
    LiteMaaSSpec.model_validate(cr["spec"])  # the CR we print is one the API server admits
    s = detected.settings
    imported = {k: source for k, (_, source) in sorted(detected.credentials.items())}
    generated = [c.key for c in cred.EVERY if c.key not in imported]

    kept = [f"Namespace/{detected.namespace}"]
    if detected.postgres_volume:
        kept.append(
            f"PersistentVolume/{detected.postgres_volume} (PostgreSQL data; reclaim policy set "
            f"to Retain, re-bound to PersistentVolumeClaim/{names.postgres_pvc})"
        )
    if detected.backup_volume:
        kept.append(
            f"PersistentVolume/{detected.backup_volume} (backend backups; reclaim policy set to "
            f"Retain, re-bound to PersistentVolumeClaim/{names.backend_backup})"
        )
    if s.frontend_host:
        kept.append(f"frontend host {s.frontend_host} (spec.routing.frontend.host)")
    if s.litellm_host:
        kept.append(f"LiteLLM host {s.litellm_host} (spec.routing.litellm.host)")
    for group, members in sorted(s.groups.items()):
        kept.append(
            f"Group/{group} with its {len(members)} member(s), taken over by the operator "
            "(members added by hand stay)"
        )

    table = successors(detected, names)
    replaced: list[tuple[str, str]] = []
    deleted: list[str] = []
    for ref in detected.present:
        new = table.get(ref)
        if ref.kind == "NetworkPolicy":
            # The chart's deny-all policy selects every pod: the operator's could not connect.
            deleted.append(f"{ref} (before the operator's pods start: it would isolate them)")
        elif new is None:
            deleted.append(f"{ref} (no successor needed)")
        elif new == ref and ref.kind == "PersistentVolumeClaim":
            kept.append(f"{ref} (same name as the operator's: taken over in place)")
        elif new == ref:
            replaced.append((str(ref), f"{new} (same name: deleted, then re-created)"))
        else:
            replaced.append((str(ref), str(new)))
    notes = list(detected.notes)
    if detected.oauth_client:
        new_client = names.oauth_client
        replaced.append(
            (
                f"OAuthClient/{detected.oauth_client} (made by hand)",
                f"OAuthClient/{new_client}, same secret, redirect "
                f"https://{s.frontend_host}/api/auth/callback",
            )
        )
        notes.append(
            "the hand-made OAuthClient is replaced, not adopted: the operator never takes over "
            "a cluster-scoped object it did not create; it is deleted once the new one exists"
        )

    claims = [detected.postgres_claim] + ([detected.backup_claim] if detected.backup_claim else [])
    new_claims = {detected.postgres_claim: names.postgres_pvc}
    if detected.backup_claim:
        new_claims[detected.backup_claim] = names.backend_backup
    moved = [(old, new) for old, new in new_claims.items() if old != new]
    steps = [
        Step(
            "credentials",
            f"import {len(imported)} credentials with their exact values into "
            f"Secret/{names.credentials}; generate {', '.join(generated) or 'none'}",
        ),
        Step(
            "retain",
            "set persistentVolumeReclaimPolicy Retain on "
            + ", ".join(f"the volume of PersistentVolumeClaim/{c}" for c in claims),
        ),
        Step(
            "stop",
            "scale the old Deployments and StatefulSet to 0 and wait until their pods "
            "are gone (the RWO volume is free)",
        ),
        Step(
            "release",
            "delete "
            + ", ".join(f"PersistentVolumeClaim/{o}" for o, _ in moved)
            + " and clear the volumes' claimRef (PV Available, data untouched)",
        ),
        Step(
            "bind",
            "create "
            + ", ".join(f"PersistentVolumeClaim/{n}" for _, n in moved)
            + " with spec.volumeName set to the old volume; wait until Bound",
        ),
        Step(
            "remove-clashing",
            "delete the old objects whose names the operator uses, and the old NetworkPolicies",
        ),
        Step("create", f"create {KIND}/{name} (above) and wait until it is Ready"),
        Step(
            "cleanup",
            "delete the remaining old objects (listed under 'deleted' and "
            "'replaced')" + (" and the hand-made OAuthClient" if detected.oauth_client else ""),
        ),
    ]
    return Plan(
        detected=detected,
        instance=instance,
        cr=cr,
        imported=imported,
        generated=generated,
        kept=kept,
        replaced=replaced,
        deleted=deleted,
        steps=steps,
        notes=notes,
    )


def describe(p: Plan) -> str:
    """The plan as text for a person: what was found, the CR, and what happens to each object."""
    import yaml

    d, s = p.detected, p.detected.settings
    found = (
        "the upstream Kustomize guide's install"
        if d.layout.flavour == "kustomize"
        else f"upstream Helm chart release {d.layout.release}"
    )
    lines = [
        f"Found {found} in namespace {d.namespace}.",
        "",
        "Settings read:",
        f"  version:             {s.version or 'unknown'} (from {s.version_source})",
        f"  frontend host:       {s.frontend_host or '-'}",
        f"  LiteLLM host:        {s.litellm_host or '-'}",
        f"  routing:             {s.routing}"
        + (f" (class {s.ingress_class})" if s.routing == "ingress" and s.ingress_class else ""),
        f"  auth mode:           {s.auth_mode}",
        f"  OAuth client id:     {s.oauth_client_id or '-'}",
        f"  initial admin users: {', '.join(s.initial_admin_users) or '-'}",
        f"  Redis:               {'on' if s.redis else 'off'}",
        f"  database volume:     {s.database_size or '?'}"
        f" (PersistentVolumeClaim/{d.postgres_claim}, PV {d.postgres_volume or 'unbound'})",
        f"  backup volume:       {s.backup_size or '-'}"
        + (
            f" (PersistentVolumeClaim/{d.backup_claim}, PV {d.backup_volume or 'unbound'})"
            if d.backup_claim
            else ""
        ),
        "  groups:              "
        + (", ".join(f"{g} ({len(m)})" for g, m in sorted(s.groups.items())) or "-"),
        "",
        f"{KIND} to create:",
        "  " + yaml.safe_dump(p.cr, sort_keys=False).rstrip().replace("\n", "\n  "),
        "",
        f"Credentials imported into Secret/{p.instance.name}-credentials (values not shown):",
        *(f"  {k:<24} <- {src}" for k, src in p.imported.items()),
        "Generated: " + (", ".join(p.generated) or "none"),
        "",
        "Kept:",
        *(f"  {k}" for k in p.kept),
        "Replaced:",
        *(f"  {old} -> {new}" for old, new in p.replaced),
        "Deleted:",
        *(f"  {x}" for x in p.deleted or ["(nothing else)"]),
        "",
        "Steps:",
        *(f"  {i}. {st.id}: {st.description}" for i, st in enumerate(p.steps, 1)),
        "",
        "Expected downtime: " + p.downtime,
    ]
    if p.notes:
        lines += ["", "Notes:", *(f"  - {n}" for n in p.notes)]
    return "\n".join(lines) + "\n"


def executable(p: Plan) -> dict[str, Any]:
    """What execution needs, as JSON-able data: stored with the imported credentials, so a run
    killed half-way resumes with the very plan it started (the old install may be half gone).
    """
    d = p.detected
    names = Names(p.instance)
    table = successors(d, names)
    volumes = []
    for old, new, pv in (
        (d.postgres_claim, names.postgres_pvc, d.postgres_volume),
        (d.backup_claim, names.backend_backup, d.backup_volume),
    ):
        if old and pv:
            volumes.append({"old": old, "new": new, "pv": pv})
    workloads = [str(r) for r in d.present if r.kind in ("Deployment", "StatefulSet")]
    # Deleted before the LiteMaaS is created: objects holding the operator's names, and the
    # old NetworkPolicies (they would isolate the operator's pods, which then never get Ready).
    early = [r for r in d.present if table.get(r) == r or r.kind == "NetworkPolicy"]
    clashing = [str(r) for r in early if r.kind != "PersistentVolumeClaim"]
    remove = [str(r) for r in d.present if r not in early and r.kind != "PersistentVolumeClaim"]
    return {
        "name": p.instance.name,
        "namespace": p.instance.namespace,
        "source": d.layout.flavour
        if d.layout.flavour == "kustomize"
        else f"helm:{d.layout.release}",
        "cr": p.cr,
        "volumes": volumes,
        "stop": workloads,
        "clashing": clashing,
        "remove": remove,
        "oauthClient": d.oauth_client,
    }
