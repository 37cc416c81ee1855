"""Local Kubernetes control plane harness (see docs/testing.md)."""
