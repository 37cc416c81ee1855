"""What each LiteMaaS workload may run now: the value the upgrade plan hands the renderer.

Kept free of imports from ``render`` so that ``facts`` can carry it without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

WorkloadName = Literal["backend", "frontend", "litellm"]
# The workloads an upgrade rolls, in the order it rolls them.
WORKLOADS: tuple[WorkloadName, ...] = ("backend", "frontend", "litellm")


@dataclass(frozen=True)
class Pin:
    """The LiteMaaS version a workload is rendered for, and the image of its main container."""

    version: str
    image: str


@dataclass(frozen=True)
class Targets:
    """One pin per workload. Without an upgrade in flight, every pin is the spec's."""

    backend: Pin
    frontend: Pin
    litellm: Pin

    def of(self, workload: WorkloadName) -> Pin:
        """The pin of one workload."""
        pin: Pin = getattr(self, workload)
        return pin
