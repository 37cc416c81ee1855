"""``litemaas-operator adopt``: read a namespace, detect the install, print the plan.

Reading is GETs and LISTs only, so ``--dry-run`` leaves every resourceVersion as it was;
without it the plan is executed (``execute.py``), or the one an interrupted run stored resumed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .detect import GROUP_NAMES, NAMESPACED_KINDS, Found, RefusedError, detect
from .execute import Cluster, execute, stored_plan
from .plan import describe, executable, plan

EXIT_REFUSED = 2
EXIT_STOPPED = 1

PATHS = {
    "Secret": "/api/v1/namespaces/{ns}/secrets",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Service": "/api/v1/namespaces/{ns}/services",
    "PersistentVolumeClaim": "/api/v1/namespaces/{ns}/persistentvolumeclaims",
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "StatefulSet": "/apis/apps/v1/namespaces/{ns}/statefulsets",
    "Route": "/apis/route.openshift.io/v1/namespaces/{ns}/routes",
    "Ingress": "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses",
    "NetworkPolicy": "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies",
    "Job": "/apis/batch/v1/namespaces/{ns}/jobs",
    "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
}
assert set(PATHS) == set(NAMESPACED_KINDS)


class Reader:
    """Plain GETs through the ``kubernetes`` package's configured ApiClient."""

    def __init__(self, kubeconfig: str | None) -> None:
        from kubernetes import client, config

        if kubeconfig:
            self.api = config.new_client_from_config(config_file=kubeconfig)
        else:
            try:
                config.load_incluster_config()
            except config.ConfigException:
                config.load_kube_config()
            self.api = client.ApiClient()

    def get(self, path: str) -> dict[str, Any] | None:
        """The object or list at ``path``; None when it (or its API) is not there."""
        method, url, headers, body, post = self.api.param_serialize(
            "GET", path, header_params={"Accept": "application/json"}, auth_settings=["BearerToken"]
        )
        response = self.api.call_api(method, url, headers, body, post)
        raw = response.read()
        if response.status == 404:
            return None
        if response.status >= 300:
            raise RuntimeError(f"GET {path}: HTTP {response.status}: {raw[:300]!r}")
        data = json.loads(raw)
        return data if isinstance(data, dict) else None

    def send(self, method: str, path: str, body: Any, content_type: str) -> dict[str, Any] | None:
        """A write; a DELETE of what is gone and a create of what exists are no-ops (None)."""
        method, url, headers, data, post = self.api.param_serialize(
            method,
            path,
            header_params={"Accept": "application/json", "Content-Type": content_type},
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self.api.call_api(method, url, headers, data, post)
        raw = response.read()
        if (method, response.status) in (("DELETE", 404), ("POST", 409)):
            return None
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: HTTP {response.status}: {raw[:300]!r}")
        return json.loads(raw) if raw else None

    def close(self) -> None:
        self.api.close()


def read(reader: Reader, namespace: str) -> Found:
    """Everything detection looks at, read once."""
    ns = reader.get(f"/api/v1/namespaces/{namespace}")
    if ns is None:
        raise RefusedError(f"namespace {namespace} not found")
    items: list[dict[str, Any]] = []
    for kind, path in PATHS.items():
        listed = reader.get(path.format(ns=namespace)) or {}
        items += [{**item, "kind": kind} for item in listed.get("items") or []]
    clients = (reader.get("/apis/oauth.openshift.io/v1/oauthclients") or {}).get("items") or []
    groups = [
        g for name in GROUP_NAMES if (g := reader.get(f"/apis/user.openshift.io/v1/groups/{name}"))
    ]
    labels = (ns.get("metadata") or {}).get("labels") or {}
    return Found.from_items(namespace, items, clients, groups, labels)


def add_parser(sub: Any) -> None:
    """Register ``adopt`` on the CLI's subparsers."""
    adopt = sub.add_parser(
        "adopt",
        help="take over an install made with the upstream Kustomize guide or Helm chart",
        description="Detect the LiteMaaS install in a namespace (upstream Kustomize guide or "
        "Helm chart) and print the plan to take it over: the LiteMaaS resource it would create "
        "with the settings read, the credentials imported, what is kept, replaced and deleted, "
        "and the downtime to expect; without --dry-run, carry it out. Exit code 2 when the "
        "namespace holds no install it recognises, or half of one. See docs/adoption.md.",
    )
    adopt.add_argument("-n", "--namespace", required=True, help="namespace of the install")
    adopt.add_argument(
        "--from",
        dest="source",
        choices=["kustomize", "helm"],
        help="which kind of install to adopt; default: the only one found",
    )
    adopt.add_argument("--release", help="Helm release name; default: the only one found")
    adopt.add_argument(
        "--name", default="litemaas", help="name of the LiteMaaS resource; default: litemaas"
    )
    adopt.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    adopt.add_argument(
        "--timeout", type=float, default=600, help="seconds to wait at each step; default 600"
    )
    adopt.add_argument(
        "--no-wait", action="store_true", help="do not wait for the LiteMaaS to be Ready"
    )
    adopt.add_argument("--kubeconfig", help="kubeconfig file; default: in-cluster or ~/.kube")
    adopt.set_defaults(func=cmd_adopt)


def cmd_adopt(args: argparse.Namespace) -> int:
    """``adopt``: print the plan; without --dry-run, run it (or resume the one stored)."""
    reader = Reader(args.kubeconfig)
    try:
        cluster = Cluster(reader, args.namespace)
        try:
            stored = stored_plan(cluster, args.name)
            if stored is None:
                found = read(reader, args.namespace)
                the_plan = plan(detect(found, args.source, args.release), args.name)
        except RefusedError as err:
            print(f"error: cannot adopt: {err}", file=sys.stderr)
            return EXIT_REFUSED
        if stored is not None:
            print(
                f"An adoption of {stored['source']} into LiteMaaS/{args.name} was started "
                "before; its stored plan:"
            )
            print(
                json.dumps(
                    {k: stored[k] for k in ("stop", "clashing", "remove", "volumes")}, indent=2
                )
            )
            if args.dry_run:
                print("\nDry run: nothing was changed.")
                return 0
            print("Resuming.")
            run, values = stored, {}
        else:
            sys.stdout.write(describe(the_plan))
            if args.dry_run:
                print("\nDry run: nothing was changed.")
                return 0
            run, values = executable(the_plan), the_plan.credential_values()
        sys.stdout.flush()
        try:
            execute(
                cluster,
                run,
                values,
                lambda line: print(line, flush=True),
                timeout=args.timeout,
                wait_ready=not args.no_wait,
            )
        except (RefusedError, TimeoutError) as err:
            print(f"error: adoption stopped: {err}", file=sys.stderr)
            return EXIT_STOPPED
        print(f"Adopted: LiteMaaS/{args.name} in namespace {args.namespace}.")
        return 0
    finally:
        reader.close()
