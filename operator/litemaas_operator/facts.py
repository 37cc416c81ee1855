"""What the renderer needs to know about the cluster, beyond the spec.

The reconciler gathers these (``controller/facts.py``); ``render`` fills them from the command
line. Keeping them in one frozen value is what makes ``desired_state`` pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .rotation import PasswordRotation
from .upgrade.targets import Targets

Platform = Literal["openshift", "kubernetes"]


@dataclass(frozen=True)
class Instance:
    """Identity of one LiteMaaS custom resource."""

    name: str
    namespace: str


@dataclass(frozen=True)
class ClusterFacts:
    """Observed cluster state that shapes the desired manifests."""

    platform: Platform
    domain: str | None = None
    # Hosts as they really are on the Route/Ingress (None until the router assigns one).
    frontend_host: str | None = None
    litellm_host: str | None = None
    # Credential values by key (see credentials.ALL): generated, or read from user Secrets.
    credentials: Mapping[str, str] = field(default_factory=dict)
    # The database role's password is changing: the Job to run, or None (rotation.py).
    password_rotation: PasswordRotation | None = None
    # database.mode=external: the two URLs read from the user's Secret.
    external_database_urls: Mapping[str, str] | None = None
    # auth.mode=oidc: the client secret read from the user's Secret.
    oidc_client_secret: str | None = None
    # auth.mode=serviceaccount: the token the OAuth server accepts as the client secret.
    service_account_token: str | None = None
    # Which OpenShift APIs are served (a platform may lack one, e.g. OAuth on HyperShift).
    has_oauth_api: bool = False
    # OpenShift's OAuth issuer as the cluster publishes it (the API server's
    # /.well-known/oauth-authorization-server), else derived from the cluster's own apps domain.
    oauth_issuer: str | None = None
    has_user_api: bool = False
    # What each LiteMaaS workload may run now (the upgrade plan's pins); None: the spec's.
    rollout: Targets | None = None
