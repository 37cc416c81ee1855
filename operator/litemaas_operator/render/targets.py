"""The version and image of each LiteMaaS workload: the spec's, unless an upgrade holds it back.

The upgrade plan (``upgrade/plan.py``) may hand the renderer older pins through
``ClusterFacts.rollout``; ``render`` on the command line has none and renders the spec's version
everywhere. Each workload's Deployment records the image it was rendered with, so the plan can
tell "still on the old image" (an upgrade not rolled yet) from "someone edited the image"
(drift, put back).
"""

from __future__ import annotations

from typing import Any

from ..api.spec import LiteMaaSSpec
from ..upgrade.targets import Pin, Targets
from .names import PREFIX
from .pods import LITELLM_IMAGE, litemaas_image

IMAGE_ANNOTATION = f"{PREFIX}/image"


def spec_targets(spec: LiteMaaSSpec) -> Targets:
    """Every workload at the spec's version, with the spec's (or the version's) images."""
    version = spec.version
    return Targets(
        backend=Pin(version, spec.backend.image or litemaas_image("backend", version)),
        frontend=Pin(version, spec.frontend.image or litemaas_image("frontend", version)),
        litellm=Pin(version, spec.litellm.image or LITELLM_IMAGE),
    )


def pinned(deployment: dict[str, Any], pin: Pin) -> dict[str, Any]:
    """``deployment`` annotated with the image it was rendered with (the upgrade's record)."""
    meta = deployment["metadata"]
    annotations = {**(meta.get("annotations") or {}), IMAGE_ANNOTATION: pin.image}
    return {**deployment, "metadata": {**meta, "annotations": annotations}}
