"""Guarded upgrades: which version each LiteMaaS workload may run now, decided from the cluster.

``semver`` orders versions, ``targets`` is the value the renderer takes (a version and image
per workload), ``plan`` is the pure decision (live workloads + backup -> targets + condition).
The controller's side (reading Deployments and backups, creating the backup, Events) is
``controller/upgrades.py``. Nothing here remembers anything between reconciles.
"""
