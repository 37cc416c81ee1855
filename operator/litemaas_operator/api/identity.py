"""Names of the LiteMaaS API: group, version, kind, plural."""

GROUP = "litemaas.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "LiteMaaS"
PLURAL = "litemaases"
SINGULAR = "litemaas"
SHORT_NAMES = ["lmaas"]

# Children are named <name>-<component> and Services need DNS-1035 labels of at most 63
# characters, so a CR's own name is a DNS-1035 label of at most 40.
NAME_MAX_LENGTH = 40
NAME_PATTERN = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
NAME_MESSAGE = (
    "metadata.name must start with a letter, hold only lowercase letters, digits and '-', "
    f"and be at most {NAME_MAX_LENGTH} characters"
)
