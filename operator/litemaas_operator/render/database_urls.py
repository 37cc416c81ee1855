"""The two database URLs, for the embedded server or from the user's external-database Secret."""

from __future__ import annotations

from dataclasses import dataclass

from .. import credentials as cred
from .context import RenderContext
from .secrets import LITELLM_DB, LITEMAAS_DB, database_url


@dataclass(frozen=True)
class DatabaseURLs:
    """URLs of the backend's and LiteLLM's databases."""

    litemaas: str
    litellm: str


def database_urls(ctx: RenderContext) -> DatabaseURLs | None:
    """Both URLs, or None (with a problem recorded) when an input is missing."""
    db = ctx.spec.database
    if db.mode == "external":
        assert db.external is not None  # the model validator guarantees it
        given = ctx.facts.external_database_urls or {}
        litemaas, litellm = (
            given.get(db.external.litemaas_url_key),
            given.get(db.external.litellm_url_key),
        )
        if not litemaas or not litellm:
            ctx.wait(
                "database",
                "WaitingForDatabaseSecret",
                f"Secret {db.external.secret_name} must hold keys {db.external.litemaas_url_key}"
                f" and {db.external.litellm_url_key}",
            )
            return None
        return DatabaseURLs(litemaas, litellm)
    password = ctx.credential(cred.POSTGRES_PASSWORD, "database")
    if password is None:
        return None
    host = ctx.names.postgres
    return DatabaseURLs(
        # sslmode=disable is load-bearing: with NODE_ENV=production the backend's pg pool turns
        # SSL on, and the in-cluster server has none.
        litemaas=database_url(password, host, LITEMAAS_DB, sslmode_disable=True),
        litellm=database_url(password, host, LITELLM_DB, sslmode_disable=False),
    )
