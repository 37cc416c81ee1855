"""Helpers shared by the integration, e2e and fault tests: run the operator, drive CRs."""
