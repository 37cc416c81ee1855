"""The upgrade plan: what each workload may run now, decided from what the cluster shows.

Each test states the cluster as the plan would read it (Deployments' pins and rollouts, the
pre-upgrade backup's phase, the last status) and pins what the operator does next.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest

from litemaas_operator.api import LiteMaaSSpec
from litemaas_operator.render.pods import LITELLM_IMAGE, litemaas_image
from litemaas_operator.render.targets import spec_targets
from litemaas_operator.upgrade.plan import (
    BACKUP_NAME_MAX,
    Backup,
    Deployed,
    PlanInput,
    UpgradePlan,
    backup_name,
    plan,
    running_version,
)
from litemaas_operator.upgrade.semver import is_downgrade, parse
from litemaas_operator.upgrade.targets import Pin, Targets

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
NEW_LITELLM = "quay.io/rh-aiservices-bu/litellm-non-root:main-v1.82.0-stable-custom"


def spec(version: str = "0.5.1", **fields: Any) -> LiteMaaSSpec:
    return LiteMaaSSpec.model_validate({"version": version, **fields})


def at(version: str, *, rolled_out: bool = True, litellm: str = LITELLM_IMAGE) -> dict:
    """Every workload's Deployment rendered for ``version`` (LiteLLM with ``litellm``)."""
    return {
        "backend": Deployed(Pin(version, litemaas_image("backend", version)), rolled_out),
        "frontend": Deployed(Pin(version, litemaas_image("frontend", version)), rolled_out),
        "litellm": Deployed(Pin(version, litellm), rolled_out),
    }


def decide(
    wanted: LiteMaaSSpec,
    deployed: dict,
    backup: str | None = None,
    reported: str | None = "0.5.0",
    was_upgrading: bool = False,
    message: str = "",
) -> UpgradePlan:
    """The plan, with the wanted pre-upgrade backup in ``backup`` phase (None: absent)."""
    name = backup_name("litemaas", spec_targets(wanted))
    found = None if backup is None else Backup(name, backup, message)
    return plan(PlanInput("litemaas", wanted, deployed, found, reported, was_upgrading))


def held_at(version: str, litellm: str = LITELLM_IMAGE) -> Targets:
    return Targets(
        Pin(version, litemaas_image("backend", version)),
        Pin(version, litemaas_image("frontend", version)),
        Pin(version, litellm),
    )


# -- first install and steady state ------------------------------------------------------------


def test_a_first_install_is_not_an_upgrade():
    result = decide(spec("0.5.0"), {}, reported=None)
    assert result.targets == spec_targets(spec("0.5.0"))
    assert not result.upgrading.active and result.upgrading.reason == "Installing"
    assert result.backup_to_create is None and result.blocked is None
    assert result.running_version is None


def test_a_first_install_reports_its_version_once_everything_rolled_out():
    rolling = decide(spec("0.5.0"), at("0.5.0", rolled_out=False), reported=None)
    assert rolling.running_version is None
    done = decide(spec("0.5.0"), at("0.5.0"), reported=None)
    assert done.running_version == "0.5.0"
    assert (done.upgrading.active, done.upgrading.reason) == (False, "UpToDate")


def test_a_backend_deleted_mid_upgrade_comes_back_at_the_version_still_running():
    deployed = at("0.5.0")
    del deployed["backend"]
    result = decide(spec("0.5.1"), deployed, backup="Running")
    assert result.upgrading.reason == "BackingUp", "not a first install"
    assert result.targets == held_at("0.5.0")


def test_a_configuration_rollout_at_the_same_version_is_not_an_upgrade():
    result = decide(spec("0.5.0"), at("0.5.0", rolled_out=False), reported="0.5.0")
    assert (result.upgrading.active, result.upgrading.reason) == (False, "UpToDate")
    assert result.running_version == "0.5.0"


# -- the backup gate ---------------------------------------------------------------------------


def test_a_patch_upgrade_first_asks_for_a_backup_and_rolls_nothing():
    result = decide(spec("0.5.1"), at("0.5.0"))
    assert result.backup_to_create == backup_name("litemaas", spec_targets(spec("0.5.1")))
    assert result.backup_to_create.startswith("litemaas-pre-upgrade-0.5.1-")
    assert result.targets == held_at("0.5.0")
    assert (result.upgrading.active, result.upgrading.reason) == (True, "BackingUp")
    assert result.running_version == "0.5.0"


@pytest.mark.parametrize("phase", ["", "Pending", "Running"])
def test_nothing_rolls_while_the_backup_is_not_completed(phase):
    result = decide(spec("0.5.1"), at("0.5.0"), backup=phase)
    assert result.targets == held_at("0.5.0")
    assert result.backup_to_create is None, "an existing backup is reused, not taken again"
    assert (result.upgrading.active, result.upgrading.reason) == (True, "BackingUp")
    assert (phase or "Pending") in result.upgrading.message


def test_a_failed_backup_stalls_the_upgrade_naming_the_backup():
    result = decide(spec("0.5.1"), at("0.5.0"), backup="Failed", message="pg_dump: refused")
    name = backup_name("litemaas", spec_targets(spec("0.5.1")))
    assert result.targets == held_at("0.5.0")
    assert result.blocked is not None
    assert (result.blocked.kind, result.blocked.reason) == ("invalid", "PreUpgradeBackupFailed")
    assert name in result.blocked.message and "pg_dump: refused" in result.blocked.message
    assert "backupBeforeUpgrade" in result.blocked.message
    assert (result.upgrading.active, result.upgrading.reason) == (False, "PreUpgradeBackupFailed")


def test_a_completed_backup_lets_the_backend_and_frontend_roll():
    result = decide(spec("0.5.1"), at("0.5.0"), backup="Completed")
    desired = spec_targets(spec("0.5.1"))
    assert result.targets.backend == desired.backend
    assert result.targets.frontend == desired.frontend
    # LiteLLM's image does not change: its pin moves at once, which rolls nothing.
    assert result.targets.litellm == desired.litellm
    assert (result.upgrading.active, result.upgrading.reason) == (True, "RollingBackend")
    assert result.running_version == "0.5.0"
    assert result.blocked is None and result.backup_to_create is None


def test_skipping_the_backup_rolls_at_once_and_says_so():
    result = decide(spec("0.5.1", upgrade={"backupBeforeUpgrade": False}), at("0.5.0"))
    assert result.backup_to_create is None
    assert result.targets.backend.version == "0.5.1"
    assert result.upgrading.reason == "RollingBackend"
    assert "backupBeforeUpgrade is false" in result.upgrading.message


def test_an_external_database_is_not_backed_up_and_the_note_says_so():
    external = {"mode": "external", "external": {"secretName": "db-urls"}}
    result = decide(spec("0.5.1", database=external), at("0.5.0"))
    assert result.backup_to_create is None
    assert result.targets.backend.version == "0.5.1"
    assert "database is external" in result.upgrading.message


# -- LiteLLM after the backend -----------------------------------------------------------------


def litellm_bump() -> LiteMaaSSpec:
    return spec("0.5.1", litellm={"image": NEW_LITELLM})


def test_litellm_keeps_its_image_until_the_backend_runs_the_new_version():
    result = decide(litellm_bump(), at("0.5.0"), backup="Completed")
    assert result.targets.backend.version == "0.5.1"
    assert result.targets.litellm == Pin("0.5.0", LITELLM_IMAGE)
    assert "LiteLLM follows once the backend is ready" in result.upgrading.message


def test_litellm_waits_while_the_new_backend_is_not_ready():
    deployed = at("0.5.0")
    deployed["backend"] = Deployed(spec_targets(litellm_bump()).backend, rolled_out=False)
    result = decide(litellm_bump(), deployed, backup="Completed")
    assert result.targets.litellm == Pin("0.5.0", LITELLM_IMAGE)
    assert result.upgrading.reason == "RollingBackend"


def test_litellm_rolls_once_the_backend_runs_the_new_version_and_is_ready():
    desired = spec_targets(litellm_bump())
    deployed = at("0.5.0")
    deployed["backend"] = Deployed(desired.backend, rolled_out=True)
    deployed["frontend"] = Deployed(desired.frontend, rolled_out=True)
    result = decide(litellm_bump(), deployed, backup="Completed")
    assert result.targets == desired
    assert (result.upgrading.active, result.upgrading.reason) == (True, "RollingLiteLLM")
    assert result.running_version == "0.5.0", "LiteLLM does not run it yet"


def test_the_last_rollout_is_still_the_upgrade_and_then_the_version_moves():
    desired = spec_targets(litellm_bump())
    rolling = {
        w: Deployed(desired.of(w), w != "litellm") for w in ("backend", "frontend", "litellm")
    }
    result = decide(litellm_bump(), rolling, backup="Completed", was_upgrading=True)
    assert (result.upgrading.active, result.upgrading.reason) == (True, "RollingLiteLLM")
    assert result.running_version == "0.5.0"
    done = {w: Deployed(desired.of(w), True) for w in ("backend", "frontend", "litellm")}
    result = decide(litellm_bump(), done, was_upgrading=True)
    assert (result.upgrading.active, result.upgrading.reason) == (False, "UpToDate")
    assert result.running_version == "0.5.1"


def test_an_image_only_change_is_guarded_like_a_version_change():
    result = decide(spec("0.5.0", litellm={"image": NEW_LITELLM}), at("0.5.0"))
    assert result.backup_to_create is not None
    assert result.targets.litellm == Pin("0.5.0", LITELLM_IMAGE)
    after = decide(spec("0.5.0", litellm={"image": NEW_LITELLM}), at("0.5.0"), backup="Completed")
    assert after.targets.litellm.image == NEW_LITELLM  # the backend already runs 0.5.0
    assert after.upgrading.reason == "RollingLiteLLM"


# -- downgrades --------------------------------------------------------------------------------


def test_a_downgrade_is_refused_and_nothing_rolls():
    result = decide(spec("0.5.0"), at("0.5.1"), reported="0.5.1")
    assert result.targets == held_at("0.5.1")
    assert result.blocked is not None and result.blocked.reason == "DowngradeRefused"
    assert "allowDowngrade" in result.blocked.message
    assert result.backup_to_create is None
    assert (result.upgrading.active, result.upgrading.reason) == (False, "DowngradeRefused")


def test_going_back_while_the_backup_is_pending_is_no_upgrade_at_all():
    # 0.5.1 asked for, backup pending (nothing rolled), then 0.5.0 again: nothing to do.
    result = decide(spec("0.5.0"), at("0.5.0"), was_upgrading=True)
    assert (result.upgrading.active, result.upgrading.reason) == (False, "UpToDate")
    assert result.blocked is None


def test_going_back_mid_upgrade_is_a_downgrade():
    deployed = at("0.5.0")
    deployed["backend"] = Deployed(spec_targets(spec("0.5.1")).backend, rolled_out=False)
    result = decide(spec("0.5.0"), deployed, was_upgrading=True)
    assert result.blocked is not None and result.blocked.reason == "DowngradeRefused"
    assert result.targets.backend.version == "0.5.1", "the migrated backend stays"


def test_an_allowed_downgrade_goes_through_the_backup_like_an_upgrade():
    allowed = spec("0.5.0", upgrade={"allowDowngrade": True})
    result = decide(allowed, at("0.5.1"), reported="0.5.1")
    assert result.blocked is None
    assert result.backup_to_create is not None
    completed = decide(allowed, at("0.5.1"), backup="Completed", reported="0.5.1")
    assert completed.targets.backend.version == "0.5.0"
    assert "downgrade" in completed.upgrading.message


@pytest.mark.parametrize(
    ("running", "wanted", "refused"),
    [
        ("0.5.1-rc.1", "0.5.1", False),  # a release is newer than its release candidates
        ("0.5.1", "0.5.1-rc.2", True),
        ("0.5.1-rc.2", "0.5.1-rc.10", False),  # numeric identifiers compare as numbers
        ("0.5.1-rc.10", "0.5.1-rc.2", True),
        ("1.0.0-beta", "1.0.0-alpha.1", True),
        ("0.9.0", "0.10.0", False),
        ("v0.5.1", "0.5.0", True),
    ],
)
def test_pre_releases_are_ordered_as_semver_says(running, wanted, refused):
    result = decide(spec(wanted), at(running), reported=running)
    assert (result.blocked is not None) == refused, result.upgrading


def test_semver_precedence_of_the_specs_example():
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
    ]
    parsed = [parse(v) for v in ordered]
    assert parsed == sorted(parsed)  # type: ignore[type-var]
    assert all(is_downgrade(a, b) for a, b in itertools.pairwise(ordered))
    assert not is_downgrade("0.5.0", "not-a-version"), "only certainty refuses"


# -- names and the running version ---------------------------------------------------------------


def test_the_backup_name_is_stable_bounded_and_a_dns_name():
    targets = spec_targets(spec("0.5.1-RC.-1"))
    name = backup_name("a" * 250, targets)
    assert name == backup_name("a" * 250, targets)
    assert len(name) <= BACKUP_NAME_MAX and DNS_SUBDOMAIN.match(name), name
    assert backup_name("litemaas", targets) != backup_name("litemaas", spec_targets(spec()))
    image_only = spec_targets(spec("0.5.1-RC.-1", litellm={"image": NEW_LITELLM}))
    assert backup_name("litemaas", targets) != backup_name("litemaas", image_only)


def test_the_running_version_needs_every_workload_rolled_out_at_it():
    mixed = at("0.5.0")
    mixed["backend"] = Deployed(spec_targets(spec("0.5.1")).backend, True)
    assert running_version(mixed, "0.5.0") == "0.5.0"
    assert running_version(at("0.5.1"), "0.5.0") == "0.5.1"
    assert running_version({}, None) is None
