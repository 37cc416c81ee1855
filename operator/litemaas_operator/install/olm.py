"""The OLM bundle (``bundle/``): the ClusterServiceVersion, the CRDs and the bundle metadata.

The CSV installs the same Deployment (``deployment_spec``) with the same RBAC rules as the
other install paths; only WATCH_NAMESPACE comes from OLM's target namespaces. The file-based
catalog (``catalog.py``) carries this bundle's manifests inline.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import yaml

from .. import __version__
from ..admission import policies
from ..api import GROUP, PLURAL, VERSION, LiteMaaSSpec
from ..api.crd import backup_crd_manifest, crd_filename, crd_manifest, restore_crd_manifest
from ..monitoring import install as monitoring
from ..render import pods
from .common import (
    GENERATED,
    IMAGE,
    LABELS,
    METRICS_PORT,
    NAME,
    NAMESPACE,
    SERVICE_ACCOUNT,
    dump_all,
    generated_yaml,
)
from .deployment import deployment_spec, pod_disruption_budget
from .rbac import cluster_rules, leader_election_rules, namespace_watch_rules, namespaced_rules

CSV_NAME = f"{NAME}.v{__version__}"
SPEC_DESCRIPTORS = [
    ("version", "Version", "LiteMaaS release to run.", ["urn:alm:descriptor:com.tectonic.ui:text"]),
    (
        "platform",
        "Platform",
        "auto, openshift or kubernetes.",
        [
            "urn:alm:descriptor:com.tectonic.ui:select:auto",
            "urn:alm:descriptor:com.tectonic.ui:select:openshift",
            "urn:alm:descriptor:com.tectonic.ui:select:kubernetes",
        ],
    ),
    (
        "domain",
        "Apps domain",
        "Detected on OpenShift.",
        ["urn:alm:descriptor:com.tectonic.ui:text"],
    ),
    (
        "auth.mode",
        "Authentication",
        "oauthclient, serviceaccount or oidc.",
        [
            "urn:alm:descriptor:com.tectonic.ui:select:oauthclient",
            "urn:alm:descriptor:com.tectonic.ui:select:serviceaccount",
            "urn:alm:descriptor:com.tectonic.ui:select:oidc",
        ],
    ),
    (
        "database.mode",
        "Database",
        "Embedded PostgreSQL or an external server.",
        [
            "urn:alm:descriptor:com.tectonic.ui:select:embedded",
            "urn:alm:descriptor:com.tectonic.ui:select:external",
        ],
    ),
    (
        "database.external.secretName",
        "External database Secret",
        "Secret with the two database URLs.",
        ["urn:alm:descriptor:io.kubernetes:Secret"],
    ),
    (
        "database.deleteClaimOnDelete",
        "Delete the volume with the resource",
        "Off: the PostgreSQL volume outlives the resource.",
        ["urn:alm:descriptor:com.tectonic.ui:booleanSwitch"],
    ),
    (
        "groups.manage",
        "Manage Groups",
        "Create litemaas-admins, -readonly and -users.",
        ["urn:alm:descriptor:com.tectonic.ui:booleanSwitch"],
    ),
    (
        "networkPolicy.enabled",
        "NetworkPolicy",
        "Restrict traffic between the components.",
        ["urn:alm:descriptor:com.tectonic.ui:booleanSwitch"],
    ),
    (
        "backend.resources",
        "Backend resources",
        "CPU and memory of the backend.",
        ["urn:alm:descriptor:com.tectonic.ui:resourceRequirements"],
    ),
]
STATUS_DESCRIPTORS = [
    (
        "conditions",
        "Conditions",
        "Ready and one per component.",
        ["urn:alm:descriptor:io.kubernetes.conditions"],
    ),
    (
        "phase",
        "Phase",
        "Progressing, Ready, Degraded or Stalled.",
        ["urn:alm:descriptor:io.kubernetes.phase"],
    ),
    ("version", "Version", "LiteMaaS release running.", ["urn:alm:descriptor:text"]),
    ("urls.frontend", "Portal", "The LiteMaaS web portal.", ["urn:alm:descriptor:org.w3:link"]),
    ("urls.litellm", "LiteLLM", "The LiteLLM API.", ["urn:alm:descriptor:org.w3:link"]),
    (
        "observedGeneration",
        "Observed generation",
        "The spec generation last reconciled.",
        ["urn:alm:descriptor:text"],
    ),
]
OWNED_RESOURCES = [
    ("Deployment", "v1"),
    ("StatefulSet", "v1"),
    ("Service", "v1"),
    ("Secret", "v1"),
    ("ConfigMap", "v1"),
    ("PersistentVolumeClaim", "v1"),
    ("ServiceAccount", "v1"),
    ("Route", "v1"),
    ("Ingress", "v1"),
    ("NetworkPolicy", "v1"),
    ("Job", "v1"),
]
# The backup and restore kinds: what they create, and the status a console shows.
DAY2_OWNED = [
    (
        backup_crd_manifest,
        "LiteMaaS Backup",
        "A pg_dump backup of an instance's two databases, scheduled or on demand.",
    ),
    (
        restore_crd_manifest,
        "LiteMaaS Restore",
        "Loads a LiteMaaSBackup into its instance, stopping its writers meanwhile.",
    ),
]
DAY2_STATUS_DESCRIPTORS = [
    (
        "phase",
        "Phase",
        "Where the backup or restore is.",
        ["urn:alm:descriptor:io.kubernetes.phase"],
    ),
    ("message", "Message", "What happened.", ["urn:alm:descriptor:text"]),
]


CAPABILITY = "Deep Insights"


def _descriptors(rows: list[tuple[str, str, str, list[str]]]) -> list[dict[str, Any]]:
    return [
        {"path": p, "displayName": d, "description": desc, "x-descriptors": x}
        for p, d, desc, x in rows
    ]


FIRST_SAMPLE = "litemaas-cr.yaml"


def samples(root: Path) -> list[dict[str, Any]]:
    """The sample CRs (alm-examples), without comments.

    The console pre-fills its form with the first: the plain default sample, not one that
    needs Secrets made beforehand or deletes data with the resource.
    """
    paths = sorted(
        (root / "manifests/samples").glob("*.yaml"), key=lambda p: (p.name != FIRST_SAMPLE, p.name)
    )
    # Then one LiteMaaSBackup and one LiteMaaSRestore (OLM wants an example of each kind).
    paths += sorted((root / "manifests/samples/backup").glob("*.yaml"))
    return [yaml.safe_load(p.read_text()) for p in paths]


def related_images() -> list[dict[str, str]]:
    """Every image the operator runs or deploys by default (disconnected installs mirror them)."""
    version = LiteMaaSSpec().version
    return [
        {"name": "operator", "image": IMAGE},
        {"name": "litemaas-backend", "image": pods.litemaas_image("backend", version)},
        {"name": "litemaas-frontend", "image": pods.litemaas_image("frontend", version)},
        {"name": "litellm", "image": pods.LITELLM_IMAGE},
        {"name": "postgres", "image": pods.POSTGRES_IMAGE},
        {"name": "redis", "image": pods.REDIS_IMAGE},
    ]


ICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    '<rect width="64" height="64" rx="12" fill="#1f3a5f"/>'
    '<text x="32" y="42" font-family="sans-serif" font-size="26" fill="#fff" '
    'text-anchor="middle">LM</text></svg>'
)


def csv(root: Path) -> dict[str, Any]:
    """The ClusterServiceVersion."""
    crd = crd_manifest()
    watch = {
        "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['olm.targetNamespaces']"}}
    }
    return {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "ClusterServiceVersion",
        "metadata": {
            "name": CSV_NAME,
            "namespace": "placeholder",
            "annotations": {
                "alm-examples": json.dumps(samples(root), indent=2),
                # OperatorHub's level 4: installs (1), guarded upgrades (2), backups, restore,
                # volume growth and credential recovery (3), and metrics, alerts, dashboards
                # and Events (4). Not Auto Pilot (5): it does not scale or tune by itself.
                "capabilities": CAPABILITY,
                "categories": "AI/Machine Learning",
                "containerImage": IMAGE,
                "description": "Deploys and runs LiteMaaS, an LLM models-as-a-service portal, "
                "from one LiteMaaS resource.",
                "operatorframework.io/suggested-namespace": NAMESPACE,
                "repository": "https://github.com/rh-aiservices-bu/litemaas-operator",
                "support": "LiteMaaS community",
                # Not until every image is pinned by digest: mirroring needs digests.
                "features.operators.openshift.io/disconnected": "false",
                "features.operators.openshift.io/fips-compliant": "false",
                "features.operators.openshift.io/proxy-aware": "false",
                "features.operators.openshift.io/tls-profiles": "false",
                "features.operators.openshift.io/token-auth-aws": "false",
                "features.operators.openshift.io/token-auth-azure": "false",
                "features.operators.openshift.io/token-auth-gcp": "false",
            },
            "labels": {"operatorframework.io/arch.amd64": "supported"},
        },
        "spec": {
            "displayName": "LiteMaaS Operator",
            "description": (
                "The LiteMaaS operator installs and runs LiteMaaS (backend, frontend, LiteLLM, "
                "PostgreSQL, Redis) from one `LiteMaaS` resource, wires OpenShift OAuth or an "
                "OIDC provider, manages the LiteMaaS Groups, generates every credential once, "
                "and reports readiness on the resource's status."
            ),
            "version": __version__,
            "maturity": "alpha",
            "minKubeVersion": "1.28.0",
            "icon": [
                {
                    "base64data": base64.b64encode(ICON_SVG.encode()).decode(),
                    "mediatype": "image/svg+xml",
                }
            ],
            "keywords": ["litemaas", "llm", "models-as-a-service", "litellm"],
            "provider": {"name": "LiteMaaS"},
            "links": [
                {"name": "LiteMaaS", "url": "https://github.com/rh-aiservices-bu/litemaas"},
            ],
            "installModes": [
                {"type": "OwnNamespace", "supported": True},
                {"type": "SingleNamespace", "supported": True},
                {"type": "MultiNamespace", "supported": True},
                # Cluster-wide is an explicit choice made elsewhere (kustomize, or the Helm
                # chart's clusterWide): an operator that reads every namespace's Secrets.
                {"type": "AllNamespaces", "supported": False},
            ],
            "customresourcedefinitions": {
                "owned": [
                    {
                        "name": crd["metadata"]["name"],
                        "version": VERSION,
                        "kind": crd["spec"]["names"]["kind"],
                        "displayName": "LiteMaaS",
                        "description": "A LiteMaaS installation.",
                        "resources": [{"kind": k, "version": v} for k, v in OWNED_RESOURCES],
                        "specDescriptors": _descriptors(SPEC_DESCRIPTORS),
                        "statusDescriptors": _descriptors(STATUS_DESCRIPTORS),
                    },
                    *(
                        {
                            "name": (owned := make())["metadata"]["name"],
                            "version": VERSION,
                            "kind": owned["spec"]["names"]["kind"],
                            "displayName": display,
                            "description": description,
                            "resources": [{"kind": "Job", "version": "v1"}],
                            "statusDescriptors": _descriptors(DAY2_STATUS_DESCRIPTORS),
                        }
                        for make, display, description in DAY2_OWNED
                    ),
                ]
            },
            "install": {
                "strategy": "deployment",
                "spec": {
                    # With the leader Lease's rights (in the operator's namespace; for
                    # AllNamespaces installs OLM makes a ClusterRole of these rules).
                    "permissions": [
                        {
                            "serviceAccountName": SERVICE_ACCOUNT,
                            "rules": namespaced_rules() + leader_election_rules(),
                        }
                    ],
                    # OLM turns `permissions` into ClusterRoles for AllNamespaces installs;
                    # the other install modes watch listed namespaces (namespace_watch_rules).
                    "clusterPermissions": [
                        {
                            "serviceAccountName": SERVICE_ACCOUNT,
                            "rules": cluster_rules() + namespace_watch_rules(),
                        }
                    ],
                    "deployments": [
                        {
                            "name": NAME,
                            "label": dict(LABELS),
                            "spec": deployment_spec(watch_namespace=watch),
                        }
                    ],
                },
            },
            "relatedImages": related_images(),
        },
    }


BUNDLE_ANNOTATIONS = {
    "operators.operatorframework.io.bundle.mediatype.v1": "registry+v1",
    "operators.operatorframework.io.bundle.manifests.v1": "manifests/",
    "operators.operatorframework.io.bundle.metadata.v1": "metadata/",
    "operators.operatorframework.io.bundle.package.v1": NAME,
    "operators.operatorframework.io.bundle.channels.v1": "alpha",
    "operators.operatorframework.io.bundle.channel.default.v1": "alpha",
}


def bundle_dockerfile() -> str:
    """``bundle/bundle.Dockerfile`` (build context: ``bundle/``)."""
    labels = "\n".join(f"LABEL {k}={v}" for k, v in BUNDLE_ANNOTATIONS.items())
    return (
        "# Generated by hack/gen_install.py. Build: docker build -f bundle/bundle.Dockerfile "
        "bundle/\nFROM scratch\n\n"
        f"{labels}\n\n"
        "COPY manifests /manifests/\nCOPY metadata /metadata/\n"
    )


def files(root: Path) -> dict[str, str]:
    """Every file of ``bundle/``, and the admission policies OLM installs need applied after.

    ``root`` is the repository (the CSV's alm-examples are its sample CRs).
    """
    result = {
        f"bundle/manifests/{NAME}.clusterserviceversion.yaml": generated_yaml([csv(root)]),
        f"bundle/manifests/{GROUP}_{PLURAL}.yaml": generated_yaml([crd_manifest()]),
    }
    for make in (backup_crd_manifest, restore_crd_manifest):
        crd = make()
        result[f"bundle/manifests/{crd_filename(crd)}"] = generated_yaml([crd])
    # The operator's monitoring objects, which OLM creates beside the CSV.
    for rel, obj in monitoring.olm_manifests(NAME, LABELS, METRICS_PORT).items():
        result[f"bundle/manifests/{rel}"] = generated_yaml([obj])
    # A bundle may carry a PodDisruptionBudget; OLM creates it in the operator's namespace.
    result[f"bundle/manifests/{NAME}_policy_v1_poddisruptionbudget.yaml"] = generated_yaml(
        [pod_disruption_budget(NAME)]
    )
    result["bundle/metadata/annotations.yaml"] = generated_yaml(
        [{"annotations": BUNDLE_ANNOTATIONS}]
    )
    result["bundle/bundle.Dockerfile"] = bundle_dockerfile()
    # OLM cannot install them (a bundle holds no admission policies): applied by hand, bound
    # to any ServiceAccount named like the operator's, since OLM picks the namespace.
    result["manifests/olm/admission-policies.yaml"] = (
        GENERATED
        + "# For OLM installs (any namespace): apply with kubectl apply --server-side -f.\n"
        + dump_all(policies())
    )
    return result
