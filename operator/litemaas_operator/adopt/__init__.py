"""Adopting an existing LiteMaaS installation (upstream Kustomize guide or Helm chart).

``detect`` reads found objects into what was installed and with which settings; ``plan`` turns
that into the CR to create and the steps to take. Both are pure: the same plan is printed by
``litemaas-operator adopt --dry-run`` and (later) executed. ``command`` is the only I/O.
"""
