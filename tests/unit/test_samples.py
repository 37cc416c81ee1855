"""Every sample in manifests/samples renders cleanly on its platform, to valid objects.

The samples are what people copy first (and the OLM console's examples): each must be complete.
The real API server accepts each one (tests/integration/test_crd_validation.py).
"""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
from rendering import OPENSHIFT_KINDS, SAMPLES, load_cr, render

PATHS = sorted(SAMPLES.glob("*.yaml"))


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_sample_renders_without_problems(path: Path) -> None:
    cr = load_cr(path)
    platform = cr["spec"].get("platform", "openshift")
    platform = "openshift" if platform == "auto" else platform
    state = render(cr["spec"], platform)
    assert state.problems == []
    for obj in state.objects:
        if obj["kind"] not in OPENSHIFT_KINDS:
            kubernetes_validate.validate(obj, "1.34", strict=True)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_sample_starts_with_a_comment_that_says_what_it_is_for(path: Path) -> None:
    assert path.read_text().startswith("# ")


def test_the_situations_platform_teams_ask_for_have_a_sample() -> None:
    names = {p.stem for p in PATHS}
    assert {
        "litemaas-openshift-custom-host",
        "litemaas-production",
        "litemaas-corporate-proxy",
        "litemaas-openshift-oidc",
    } <= names
