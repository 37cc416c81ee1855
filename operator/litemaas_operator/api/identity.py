"""Names of the LiteMaaS API: group, version, kind, plural."""

GROUP = "litemaas.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "LiteMaaS"
PLURAL = "litemaases"
SINGULAR = "litemaas"
SHORT_NAMES = ["lmaas"]
