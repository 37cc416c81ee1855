"""The ``litemaas-operator`` command, run through ``main()``: render output and exit codes."""

from __future__ import annotations

import argparse
import base64
import io
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from rendering import CRD_FILE, KUBERNETES_SAMPLE, OPENSHIFT_KINDS, OPENSHIFT_SAMPLE

from litemaas_operator import credentials
from litemaas_operator.cli import EXIT_INVALID, build_parser, main


def run_render(capsys, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    code = main(["render", *args])
    out, err = capsys.readouterr()
    docs = [d for d in yaml.safe_load_all(out) if d] if code == 0 else []
    return code, docs, err


def kinds(docs: list[dict[str, Any]]) -> Counter[str]:
    return Counter(d["kind"] for d in docs)


def names(docs: list[dict[str, Any]], kind: str) -> set[str]:
    return {d["metadata"]["name"] for d in docs if d["kind"] == kind}


def test_render_openshift_sample(capsys):
    code, docs, err = run_render(
        capsys, "-f", str(OPENSHIFT_SAMPLE), "--platform", "openshift", "--domain", "apps.x.io"
    )
    assert (code, err) == (0, "")
    assert names(docs, "StatefulSet") == {"litemaas-postgres"}
    assert names(docs, "Deployment") == {
        f"litemaas-{c}" for c in ("backend", "frontend", "litellm", "redis")
    }
    assert names(docs, "Service") == {
        f"litemaas-{c}" for c in ("postgres", "backend", "frontend", "litellm", "redis")
    }
    assert names(docs, "Route") == {"litemaas", "litemaas-litellm"}
    assert names(docs, "Secret") >= {
        f"litemaas-{c}" for c in ("credentials", "postgres", "backend", "litellm", "redis")
    }
    # The default login on OpenShift needs no cluster-scoped object: a ServiceAccount of the
    # instance is the OAuth client.
    assert kinds(docs)["OAuthClient"] == 0
    assert names(docs, "Group") == {"litemaas-admins", "litemaas-readonly", "litemaas-users"}
    assert kinds(docs)["Ingress"] == 0
    admins = next(d for d in docs if d["metadata"]["name"] == "litemaas-admins")
    assert admins["users"] == ["admin"]
    # The predicted router host flows into the derived URLs.
    [account] = [d for d in docs if d["metadata"]["name"] == "litemaas-litemaas"]
    assert account["metadata"]["annotations"] == {
        "serviceaccounts.openshift.io/oauth-redirecturi.litemaas": (
            "https://litemaas-default.apps.x.io/api/auth/callback"
        )
    }


def test_render_oauthclient_mode_limits_scopes(capsys, tmp_path):
    cr = tmp_path / "cr.yaml"
    cr.write_text(
        "apiVersion: litemaas.io/v1alpha1\nkind: LiteMaaS\nmetadata: {name: litemaas}\n"
        "spec: {auth: {mode: oauthclient}}\n"
    )
    code, docs, err = run_render(
        capsys, "-f", str(cr), "--platform", "openshift", "--domain", "apps.x.io"
    )
    assert (code, err) == (0, "")
    [client] = [d for d in docs if d["kind"] == "OAuthClient"]
    assert client["redirectURIs"] == ["https://litemaas-default.apps.x.io/api/auth/callback"]
    # Without scopeRestrictions every scope (user:full) would be allowed.
    assert client["scopeRestrictions"] == [{"literals": ["user:info", "user:check-access"]}]


def test_render_kubernetes_sample(capsys):
    code, docs, err = run_render(capsys, "-f", str(KUBERNETES_SAMPLE), "--platform", "kubernetes")
    assert (code, err) == (0, "")
    assert names(docs, "Ingress") == {"litemaas", "litemaas-litellm"}
    assert not OPENSHIFT_KINDS & set(kinds(docs))
    assert names(docs, "Deployment") == {
        f"litemaas-{c}" for c in ("backend", "frontend", "litellm", "redis")
    }
    assert names(docs, "StatefulSet") == {"litemaas-postgres"}
    hosts = {d["spec"]["rules"][0]["host"] for d in docs if d["kind"] == "Ingress"}
    assert hosts == {
        "litemaas-default.apps.example.com",
        "litemaas-litellm-default.apps.example.com",
    }


def test_render_namespace_flag(capsys):
    code, docs, _ = run_render(capsys, "-f", str(KUBERNETES_SAMPLE), "-n", "ai")
    assert code == 0
    assert {d["metadata"]["namespace"] for d in docs if "namespace" in d["metadata"]} == {"ai"}


def test_render_reads_stdin(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(KUBERNETES_SAMPLE.read_text()))
    code, docs, _ = run_render(capsys, "-f", "-")
    assert code == 0 and kinds(docs)["Ingress"] == 2


@pytest.mark.parametrize("sample", [OPENSHIFT_SAMPLE, KUBERNETES_SAMPLE], ids=["os", "k8s"])
def test_render_prints_placeholders_never_values(capsys, sample):
    code, docs, _ = run_render(capsys, "-f", str(sample), "--domain", "apps.example.com")
    assert code == 0
    text = yaml.safe_dump_all(docs)
    store = next(d for d in docs if d["metadata"]["name"] == "litemaas-credentials")
    # Every generated credential is shown as its placeholder, and only as that.
    assert store["stringData"] == {c.key: c.placeholder() for c in credentials.EVERY}
    assert "data" not in store
    # Derived Secrets carry the placeholders too (base64-encoded in data, URL-encoded in URLs).
    secret_text = "".join(
        base64.b64decode(v).decode()
        for d in docs
        if d["kind"] == "Secret" and "data" in d
        for v in d["data"].values()
    )
    assert "<generated:jwt-secret>" in secret_text
    assert "%3Cgenerated%3Apostgres-password%3E" in secret_text
    # Nothing that looks like a generated value: no sk-/ltm_admin_ followed by random text.
    assert not re.search(r"(sk-|ltm_admin_)[A-Za-z0-9_-]{16}", text + secret_text)


def test_render_names_user_secrets_in_placeholders(capsys, tmp_path):
    cr = yaml.safe_load(KUBERNETES_SAMPLE.read_text())
    cr["spec"]["secrets"] = {"jwtSecret": {"name": "my-jwt", "key": "secret"}}
    path = tmp_path / "cr.yaml"
    path.write_text(yaml.safe_dump(cr))
    code, docs, _ = run_render(capsys, "-f", str(path))
    assert code == 0
    store = next(d for d in docs if d["metadata"]["name"] == "litemaas-credentials")
    assert "jwt-secret" not in store["stringData"]  # not generated: taken from the user's Secret
    backend = next(
        d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"].endswith("-backend")
    )
    assert base64.b64decode(backend["data"]["jwt-secret"]).decode() == "<secret:my-jwt/secret>"
    assert base64.b64decode(backend["data"]["oauth-client-secret"]).decode() == (
        "<secret:litemaas-oidc/client-secret>"
    )


def test_render_openshift_sample_on_kubernetes_needs_oidc(capsys):
    # The OpenShift sample relies on OpenShift OAuth, which plain Kubernetes lacks.
    code, docs, err = run_render(
        capsys, "-f", str(OPENSHIFT_SAMPLE), "--platform", "kubernetes", "--domain", "a.b"
    )
    assert code == EXIT_INVALID and docs == []
    assert "auth" in err and "oidc" in err


def test_crd_check_passes_on_the_committed_file(capsys):
    assert main(["crd", "--check", "-o", str(CRD_FILE)]) == 0


def test_crd_check_fails_on_a_stale_file(capsys, tmp_path):
    stale = tmp_path / "crd.yaml"
    stale.write_text(CRD_FILE.read_text().replace("maxLength: 63", "maxLength: 64", 1))
    assert main(["crd", "--check", "-o", str(stale)]) == 1
    assert "stale" in capsys.readouterr().err
    assert main(["crd", "--check", "-o", str(tmp_path / "missing.yaml")]) == 1


def test_crd_writes_what_check_expects(tmp_path):
    target = tmp_path / "out" / "crd.yaml"
    assert main(["crd", "-o", str(target)]) == 0
    assert target.read_text() == CRD_FILE.read_text()
    assert main(["crd", "--check", "-o", str(target)]) == 0


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "cr.yaml"
    path.write_text(text)
    return str(path)


BAD_FILES = [
    ("not-yaml", "kind: LiteMaaS\nspec: [unclosed", "not valid YAML"),
    ("no-litemaas", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", "found 0"),
    (
        "two-litemaas",
        "apiVersion: litemaas.io/v1alpha1\nkind: LiteMaaS\nmetadata: {name: a}\n---\n"
        "apiVersion: litemaas.io/v1alpha1\nkind: LiteMaaS\nmetadata: {name: b}\n",
        "found 2",
    ),
    ("wrong-api-version", "apiVersion: litemaas.io/v1\nkind: LiteMaaS\n", "apiVersion"),
    ("spec-not-mapping", "apiVersion: litemaas.io/v1alpha1\nkind: LiteMaaS\nspec: [1]\n", "spec"),
    (
        "metadata-not-mapping",
        "apiVersion: litemaas.io/v1alpha1\nkind: LiteMaaS\nmetadata: [x]\n",
        "metadata",
    ),
    (
        "no-name",
        "apiVersion: litemaas.io/v1alpha1\nkind: LiteMaaS\nmetadata: {}\n",
        "metadata.name",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_render_rejects_bad_files(capsys, tmp_path, text, message):
    code, _, err = run_render(capsys, "-f", write(tmp_path, text))
    assert code == EXIT_INVALID
    assert message in err
    assert "Traceback" not in err


def test_render_missing_file(capsys, tmp_path):
    code, _, err = run_render(capsys, "-f", str(tmp_path / "nope.yaml"))
    assert code == EXIT_INVALID and "nope.yaml" in err


def test_render_into_a_closed_pipe_is_quiet():
    # `litemaas-operator render ... | head` must not end in a BrokenPipeError traceback.
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "litemaas_operator",
            "render",
            "-f",
            str(OPENSHIFT_SAMPLE),
            "--domain",
            "a.io",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the child writes: its first write meets a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 0
    assert "Traceback" not in err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == "litemaas-operator 0.1.0"


def test_a_missing_file_is_said_as_such(capsys):
    assert main(["render", "-f", "/nonexistent/cr.yaml"]) == EXIT_INVALID
    assert capsys.readouterr().err.strip() == "error: file not found: /nonexistent/cr.yaml"


@pytest.mark.parametrize("command", ["render", "crd", "run"])
def test_every_flag_has_help_in_plain_text(command):
    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    actions = [a for a in sub.choices[command]._actions if a.dest != "help"]
    assert actions
    for action in actions:
        assert action.help, f"{command} {action.option_strings} has no help"
        assert "``" not in action.help and ":class:" not in action.help
    assert "``" not in (parser.description or "")
