"""Where the API server is and who the operator is to it, and the HTTP session to talk to it.

One ``kopf.ConnectionInfo`` serves Kopf's session and the operator's own clients: from
``--kubeconfig`` (the current context's cluster and user: a token or token file, client
certificate and key, CA, as files or inline data) or, in a pod, from its ServiceAccount (the
``KUBERNETES_SERVICE_*`` variables and the mounted token, read again when the kubelet rotates
it). A kubeconfig whose user runs an exec plugin or an auth provider (a cloud's login) is read
by the ``kubernetes`` package, imported only then: the running operator otherwise never loads it
(its client models alone take some 20 MiB, and Kopf imports them whenever they can be found;
see ``cli.keep_out_unused_clients``).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import kopf
import yaml

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=300)  # a request, not a watch


class ConfigError(Exception):
    """No usable API server connection could be read."""


def credentials(kubeconfig: str | None) -> kopf.ConnectionInfo:
    """The connection described by ``kubeconfig``; else by the pod's ServiceAccount; else,
    as kubectl, by ``$KUBECONFIG`` (its first file) or ``~/.kube/config``."""
    if kubeconfig:  # a $KUBECONFIG list: its first file (kubectl merges them; rarely needed)
        return from_kubeconfig(Path(kubeconfig.split(os.pathsep)[0]).expanduser())
    info = in_cluster()
    if info is not None:
        return info
    default = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or "~/.kube/config"
    path = Path(default).expanduser()
    if not path.exists():
        raise ConfigError(
            "no --kubeconfig given, not in a pod (no KUBERNETES_SERVICE_HOST and "
            f"{SERVICE_ACCOUNT_DIR}/token), and no {path}"
        )
    return from_kubeconfig(path)


def in_cluster(directory: Path = SERVICE_ACCOUNT_DIR) -> kopf.ConnectionInfo | None:
    """The pod's ServiceAccount, as client-go's ``rest.InClusterConfig`` reads it."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT")
    token = directory / "token"
    if not host or not port or not token.exists():
        return None
    if _is_ipv6(host):
        host = f"[{host}]"
    ca = directory / "ca.crt"
    namespace = directory / "namespace"
    return kopf.ConnectionInfo(
        server=f"https://{host}:{port}",
        ca_path=str(ca) if ca.exists() else None,
        token=token.read_text().strip() or None,
        default_namespace=namespace.read_text().strip() if namespace.exists() else None,
    )


def from_kubeconfig(path: Path) -> kopf.ConnectionInfo:
    """The current context of the kubeconfig file ``path``."""
    try:
        config: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError as err:
        raise ConfigError(f"kubeconfig {path}: file not found") from err
    current = config.get("current-context")
    context = _named(config, "contexts", current, "context", path)
    cluster = _named(config, "clusters", context.get("cluster"), "cluster", path)
    user = _named(config, "users", context.get("user"), "user", path)
    if user.get("exec") or user.get("auth-provider"):
        return _through_kubernetes_package(path)
    base = path.resolve().parent

    def file(value: str | None) -> str | None:  # relative to the kubeconfig, as kubectl reads it
        return str(base / value) if value else None

    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = Path(str(file(user["tokenFile"]))).read_text().strip()
    return kopf.ConnectionInfo(
        server=str(cluster.get("server") or ""),
        ca_path=file(cluster.get("certificate-authority")),
        ca_data=cluster.get("certificate-authority-data"),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        certificate_path=file(user.get("client-certificate")),
        certificate_data=user.get("client-certificate-data"),
        private_key_path=file(user.get("client-key")),
        private_key_data=user.get("client-key-data"),
        username=user.get("username"),
        password=user.get("password"),
        token=token or None,
        default_namespace=context.get("namespace"),
    )


def _named(config: dict[str, Any], section: str, name: Any, field: str, path: Path) -> Any:
    for item in config.get(section) or []:
        if item.get("name") == name:
            return item.get(field) or {}
    raise ConfigError(f"kubeconfig {path}: no {field} named {name!r} (current-context)")


def _through_kubernetes_package(path: Path) -> kopf.ConnectionInfo:
    """A kubeconfig only the ``kubernetes`` package can read (its user runs a program)."""
    for name in [n for n in sys.modules if n == "kubernetes" or n.startswith("kubernetes.")]:
        if sys.modules[name] is None:  # kept out by cli.keep_out_unused_clients: needed now
            del sys.modules[name]
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=str(path), client_configuration=configuration)
    header = configuration.get_api_key_with_prefix("BearerToken") or ""
    scheme, _, token = header.rpartition(" ")
    return kopf.ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        scheme=scheme or None,
        token=token or None,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
    )


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


class Connection:
    """An aiohttp session to the API server, with credentials read again after a 401.

    A ServiceAccount's token is rotated by the kubelet and an exec plugin's expires: a request
    answered 401 reads them again and is sent once more. ``max_connections`` bounds the pool
    (0: no bound, for watches, each of which holds a connection for as long as it runs).
    """

    def __init__(
        self,
        load: Callable[[], kopf.ConnectionInfo],
        user_agent: str | None = None,
        max_connections: int = 0,
    ) -> None:
        self.load = load
        self.info = load()
        self.user_agent = user_agent
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """The session, created on first use (inside the running event loop)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.max_connections, ssl=self.info.as_ssl_context()
                ),
                headers={"User-Agent": self.user_agent} if self.user_agent else None,
            )
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        data: bytes | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> aiohttp.ClientResponse:
        """Send one request; the response is the caller's to read and release."""

        async def send() -> aiohttp.ClientResponse:
            return await self.session().request(
                method,
                f"{self.info.server.rstrip('/')}{path}",
                # Per request: a token read again after a 401 applies to what follows.
                headers={**self.info.as_http_headers(), **headers},
                data=data,
                timeout=timeout or DEFAULT_TIMEOUT,
            )

        response = await send()
        if response.status == 401 and self._reload():
            response.release()
            response = await send()
        return response

    def _reload(self) -> bool:
        """Read the credentials again (a rotated token, an expired exec plugin's): whether
        they changed (else the 401 stands)."""
        info = self.load()
        if info.as_http_headers() == self.info.as_http_headers():
            return False
        self.info = info
        return True

    async def close(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None
