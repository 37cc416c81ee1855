"""Local Kubernetes control plane for tests, built from Go modules (see docs/testing.md).

``hack/cluster.sh`` drives it from the shell; :mod:`harness.plugin` gives pytest fixtures.
"""

from .cluster import Cluster
from .router import FakeRouter, host_for
from .waiting import wait_until

__all__ = ["Cluster", "FakeRouter", "host_for", "wait_until"]
