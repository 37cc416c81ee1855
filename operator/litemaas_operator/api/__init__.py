"""The ``litemaas.io/v1alpha1`` API: pydantic models that also generate the CRD."""

from .identity import API_VERSION, GROUP, KIND, PLURAL, SHORT_NAMES, SINGULAR, VERSION
from .spec import LiteMaaSSpec
from .status import Condition, LiteMaaSStatus

__all__ = [
    "API_VERSION",
    "GROUP",
    "KIND",
    "PLURAL",
    "SHORT_NAMES",
    "SINGULAR",
    "VERSION",
    "Condition",
    "LiteMaaSSpec",
    "LiteMaaSStatus",
]
