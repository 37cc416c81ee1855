"""The GitHub workflows: CI runs the README's test command, a tag releases what the repo builds.

They cannot run here; actionlint (in `make lint`) checks their syntax, expressions and shell,
and these tests pin what they must do with this repository's own scripts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github/workflows"


def workflow(name: str) -> dict[str, Any]:
    # PyYAML reads the key `on` as True (YAML 1.1).
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True)
    return doc


def runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_ci_runs_the_readme_test_command_on_pushes_and_pull_requests() -> None:
    ci = workflow("ci.yml")
    assert {"push", "pull_request"} <= set(ci["on"])
    [job] = ci["jobs"].values()
    assert ".ci/run" in runs(job)
    assert "make test" in (REPO / ".ci/run").read_text()
    cache = [s for s in job["steps"] if s.get("uses", "").startswith("actions/cache/")]
    assert [s["uses"].split("@")[0] for s in cache] == [
        "actions/cache/restore",
        "actions/cache/save",
    ]
    # Restored and saved by the same path list, which holds the tools' cache and pip's.
    assert {s["with"]["path"] for s in cache} == {"${{ env.CACHE_PATHS }}"}
    assert {"~/.cache/litemaas-operator", "~/.cache/pip"} <= set(job["env"]["CACHE_PATHS"].split())
    # Saved even when the tests fail (setup's builds are then kept).
    assert cache[1]["if"].startswith("!cancelled()")


def test_every_workflow_go_is_the_harness_toolchain() -> None:
    # A Go bump in .ci/harness.sh must not leave the workflows building with another one.
    harness = (REPO / ".ci/harness.sh").read_text()
    pinned = re.search(r"^GO_FALLBACK=go(\S+)", harness, re.M)
    assert pinned
    versions = [
        step["with"]["go-version"]
        for name in ("ci.yml", "release.yml")
        for job in workflow(name)["jobs"].values()
        for step in job["steps"]
        if step.get("uses", "").startswith("actions/setup-go@")
    ]
    assert versions
    assert set(versions) == {pinned.group(1)}


def test_release_on_tags_pushes_three_images_and_the_chart() -> None:
    release = workflow("release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}
    jobs = release["jobs"]
    images = runs(jobs["images"])
    assert "hack/image.sh build" in images  # the operator image from the project's script
    for built in ("bundle/bundle.Dockerfile", "catalog.Dockerfile"):
        assert f"buildah bud -f {built}" in images
    assert images.count("buildah push") == 2
    assert "skopeo copy" in images
    chart = runs(jobs["chart"])
    assert "package charts/operator" in chart and "push" in chart
    # Nothing is published before the tag is checked against every version in the repo.
    assert jobs["images"]["needs"] == "check"
    assert set(jobs["chart"]["needs"]) == {"check", "images"}


def test_lint_runs_actionlint_built_like_the_other_tools() -> None:
    makefile = (REPO / "Makefile").read_text()
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "hack/tools.sh actionlint" in lint
    tools = (REPO / "hack/tools.sh").read_text()
    assert re.search(r"^ACTIONLINT_VERSION=v\d+\.\d+\.\d+$", tools, re.M)
    # `make setup` (.ci/run) builds it with the other tools, before `make test` lints.
    assert re.search(r"^\s*all\).*build_actionlint", tools, re.M)
