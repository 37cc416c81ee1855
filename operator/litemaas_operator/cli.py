"""The ``litemaas-operator`` command: ``run`` the operator, ``render`` a CR, write the ``crd``.

Help texts are plain text (argparse prints them verbatim): no reStructuredText markup there.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from . import __version__, credentials
from .api import API_VERSION, KIND, LiteMaaSSpec
from .api.crd import crd_filename, crd_manifests
from .api.identity import NAME_MAX_LENGTH, NAME_MESSAGE, NAME_PATTERN
from .facts import ClusterFacts, Instance
from .render import desired_state, group_manifest
from .render.endpoints import default_host
from .render.names import Names
from .render.secrets import credentials_store

CRD_PATH = Path("crds/litemaas.io_litemaases.yaml")
EXIT_INVALID = 2


class InvalidResourceError(Exception):
    """A CR that cannot be rendered; the message names the field."""


def _message(item: Any) -> str:
    """pydantic's message without its "Value error, " prefix, and the value a pattern rejected."""
    message = str(item["msg"]).removeprefix("Value error, ")
    if item["type"] == "string_pattern_mismatch":
        message += f" (got {item['input']!r})"
    return message


def format_validation_error(error: ValidationError) -> str:
    """One line per problem, each naming the field path as it is written in YAML."""
    lines = []
    for item in error.errors():
        path = ".".join(str(p) for p in ("spec", *item["loc"]))
        lines.append(f"{path}: {_message(item)}")
    return "\n".join(lines)


def load_resource(path: str) -> dict[str, Any]:
    """Read one LiteMaaS CR from a file (``-`` for stdin), checking its kind."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    try:
        documents = [d for d in yaml.safe_load_all(text) if d]
    except yaml.YAMLError as err:
        raise InvalidResourceError(f"{path}: not valid YAML: {err}") from err
    crs = [d for d in documents if isinstance(d, dict) and d.get("kind") == KIND]
    if len(crs) != 1:
        raise InvalidResourceError(
            f"{path}: expected exactly one {KIND} document, found {len(crs)}"
        )
    cr = crs[0]
    if cr.get("apiVersion") != API_VERSION:
        raise InvalidResourceError(
            f"apiVersion: expected {API_VERSION}, got {cr.get('apiVersion')}"
        )
    if not isinstance(cr.get("spec", {}), dict):
        raise InvalidResourceError("spec: must be a mapping")
    return cr


def parse_spec(raw: Any) -> LiteMaaSSpec:
    """Validate a CR's spec, raising InvalidResourceError with field-named messages."""
    try:
        return LiteMaaSSpec.model_validate(raw or {})
    except ValidationError as err:
        raise InvalidResourceError(format_validation_error(err)) from err


def render_documents(
    cr: dict[str, Any], platform: str, domain: str | None, namespace: str | None
) -> list[dict[str, Any]]:
    """Every manifest the operator would create for ``cr``, credentials as placeholders."""
    meta = cr.get("metadata") or {}
    if not isinstance(meta, dict):
        raise InvalidResourceError("metadata: must be a mapping")
    name = meta.get("name")
    if not name:
        raise InvalidResourceError("metadata.name: required")
    if not isinstance(name, str) or len(name) > NAME_MAX_LENGTH or not re.match(NAME_PATTERN, name):
        raise InvalidResourceError(f"{NAME_MESSAGE} (got {name!r})")
    spec = parse_spec(cr.get("spec"))
    instance = Instance(name, namespace or meta.get("namespace") or "default")
    if spec.platform != "auto":
        platform = spec.platform
    openshift = platform == "openshift"
    args_domain = domain
    domain = spec.domain or domain
    names = Names(instance)
    # Predict the hosts the OpenShift router would assign, so the output is complete.
    predicted = {}
    if openshift and domain:
        predicted = {
            "frontend_host": default_host(names.frontend_route, instance.namespace, domain),
            "litellm_host": default_host(names.litellm_route, instance.namespace, domain),
        }
    values = credentials.placeholders(spec)
    external = None
    if spec.database.external is not None:
        ext = spec.database.external
        external = {
            key: f"<secret:{ext.secret_name}/{key}>"
            for key in (ext.litemaas_url_key, ext.litellm_url_key)
        }
    facts = ClusterFacts(
        platform="openshift" if openshift else "kubernetes",
        domain=domain,
        # What the cluster would publish, predicted from the domain given on the command line.
        oauth_issuer=f"https://oauth-openshift.{args_domain}"
        if openshift and args_domain
        else None,
        credentials=values,
        external_database_urls=external,
        oidc_client_secret=(
            f"<secret:{spec.auth.oidc.client_secret.name}/{spec.auth.oidc.client_secret.key}>"
            if spec.auth.oidc
            else None
        ),
        service_account_token="<service-account-token>",
        has_oauth_api=openshift,
        has_user_api=openshift,
        **predicted,
    )
    state = desired_state(spec, facts, instance)
    problems = [p for p in state.problems if p.kind == "invalid"]
    if problems:
        raise InvalidResourceError("\n".join(f"{p.component}: {p.message}" for p in problems))
    generated = {c.key: values[c.key] for c in credentials.generated_keys(spec)}
    store = credentials_store(
        instance,
        names.credentials,
        spec.version,
        generated,
        retain=not spec.database.delete_claim_on_delete,
    )
    del store["data"]
    store["stringData"] = generated  # placeholders read better unencoded
    groups = [group_manifest(g, users, instance) for g, users in state.groups.items()]
    return [store, *state.objects, *groups]


def cmd_render(args: argparse.Namespace) -> int:
    """``render``: print the YAML stream for a CR."""
    try:
        cr = load_resource(args.file)
        docs = render_documents(cr, args.platform, args.domain, args.namespace)
    except FileNotFoundError as err:
        print(f"error: file not found: {err.filename}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as err:
        print(f"error: cannot read {args.file}: {err.strerror or err}", file=sys.stderr)
        return EXIT_INVALID
    except InvalidResourceError as err:
        print(f"error: invalid {KIND}:\n{err}", file=sys.stderr)
        return EXIT_INVALID
    try:
        yaml.safe_dump_all(docs, sys.stdout, sort_keys=False)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`render ... | head`): not an error, and no traceback at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def cmd_crd(args: argparse.Namespace) -> int:
    """``crd``: write (or with --check, verify) the generated CRD files.

    ``-o`` names the LiteMaaS CRD's file; the other kinds' CRDs (LiteMaaSBackup,
    LiteMaaSRestore) go beside it as ``<group>_<plural>.yaml``. ``-o -`` prints all of them.
    """
    header = "# Generated by `litemaas-operator crd` from the pydantic models. Do not edit.\n"
    main_crd, *others = crd_manifests()
    path = Path(args.output)
    if str(path) == "-" and not args.check:
        sys.stdout.write(header + yaml.safe_dump_all(crd_manifests(), sort_keys=False, width=100))
        return 0
    files = {path: main_crd} | {path.parent / crd_filename(crd): crd for crd in others}
    stale = []
    for target, crd in files.items():
        text = header + yaml.safe_dump(crd, sort_keys=False, width=100)
        if args.check:
            if not target.exists() or target.read_text() != text:
                stale.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for target in stale:
        print(f"{target} is stale: run `litemaas-operator crd`", file=sys.stderr)
    return 1 if stale else 0


# Client libraries Kopf imports whenever it finds them installed, for their model classes; the
# running operator talks through its own client (controller/connection.py) and uses none of
# them: the kubernetes package's models alone take some 20 MiB of the process's memory.
UNUSED_CLIENTS = ("kubernetes", "kubernetes_asyncio", "pykube")


def keep_out_unused_clients() -> None:
    """Make ``UNUSED_CLIENTS`` unimportable in this process (an import raises ImportError, as
    if they were not installed); ``connection`` lets the kubernetes package in again for a
    kubeconfig that only it can read."""
    for name in UNUSED_CLIENTS:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]


def cmd_run(args: argparse.Namespace) -> int:
    """``run``: start the operator (imports Kopf only here, so ``render`` stays light)."""
    keep_out_unused_clients()
    from .controller.main import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="litemaas-operator",
        description="Deploy and run LiteMaaS from one LiteMaaS resource: run the operator, "
        "render a resource's manifests, or write the CRD.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = sub.add_parser(
        "render",
        help="print the manifests for a LiteMaaS CR (credentials as placeholders)",
        description="Print every manifest the operator would create for a LiteMaaS CR, as the "
        "reconciler renders them, with generated credentials shown as placeholders.",
    )
    render.add_argument("-f", "--file", required=True, help="CR file, or - for stdin")
    render.add_argument(
        "--platform",
        choices=["openshift", "kubernetes"],
        default="openshift",
        help="cluster to render for: openshift (Routes, OAuth, Groups) or kubernetes "
        "(Ingresses); default: openshift. spec.platform, when not auto, wins.",
    )
    render.add_argument("--domain", help="apps domain; OpenShift Route hosts are predicted from it")
    render.add_argument(
        "-n", "--namespace", help="namespace to render into; default: the CR's, else default"
    )
    render.set_defaults(func=cmd_render)

    crd = sub.add_parser(
        "crd",
        help="write the CRD generated from the API models",
        description="Write (or check) the CustomResourceDefinition generated from the "
        "pydantic models.",
    )
    crd.add_argument(
        "-o", "--output", default=str(CRD_PATH), help=f"file to write, or -; default: {CRD_PATH}"
    )
    crd.add_argument("--check", action="store_true", help="fail if the file is stale")
    crd.set_defaults(func=cmd_crd)

    run = sub.add_parser(
        "run",
        help="run the operator",
        description="Run the operator: reconcile LiteMaaS resources until stopped.",
    )
    from .controller.options import add_run_arguments

    add_run_arguments(run)
    run.set_defaults(func=cmd_run)

    from .adopt.command import add_parser as add_adopt_parser

    add_adopt_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
