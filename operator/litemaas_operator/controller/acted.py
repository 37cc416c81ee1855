"""What the acting half of a whole reconcile leaves for the reporting half, kept per CR so that
a child's status news can be reported without rendering and applying again.

A whole reconcile renders, applies, and then observes the children to write the status. When
only a child's *status* changed (a workload became ready, a pod got stuck: ``relevance``), the
rendering and the applies would come out the same, and only the observing half has anything
new to say: an observe-only pass runs that half again with what the last whole reconcile
found. That is sound only while nothing is under way that a child's status could move on (an
upgrade, a backup or restore, a resize, a password change, a refused write, something due
soon); ``observable`` says when, and otherwise the pass is a whole reconcile.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..render.endpoints import Endpoints, Problem
from ..upgrade.plan import UpgradePlan
from . import upgrades
from .backups import BackupController, BackupReport
from .volumes import Resize


@dataclass
class Acted:
    """The reporting half's inputs from the acting half of one whole reconcile."""

    uid: str
    generation: int
    served: frozenset[str]
    platform: str | None  # None: the facts could not be gathered (nothing was applied)
    mode: str  # the resolved auth mode
    oauth_client_rendered: bool  # for auth_state (oauthclient mode waits for the host)
    problems: list[Problem]
    apply_errors: list[str]
    endpoints: Endpoints | None
    upgrade: UpgradePlan
    backups: BackupReport | None  # None: nothing was applied
    resize: Resize
    quiet: bool = False  # nothing under way (see observable)
    due_at: float | None = None  # monotonic time something is due (a scheduled backup)

    def due_in(self, now: float) -> float | None:
        """Seconds until something is due (None: nothing is)."""
        return None if self.due_at is None else max(self.due_at - now, 0.0)

    def observable(self, uid: str | None, generation: int, now: float) -> bool:
        """Whether an observe-only pass may stand in for a whole reconcile of this CR now."""
        return (
            self.quiet
            and uid == self.uid
            and generation == self.generation
            and (self.due_at is None or now < self.due_at)
        )


def is_quiet(
    upgrade: UpgradePlan,
    backups: BackupController,
    resize: Resize,
    apply_errors: list[str],
    rotating: bool,
) -> bool:
    """Whether a whole reconcile left nothing under way that a child's status could move on."""
    return (
        upgrades.quiet(upgrade)
        and backups.quiet
        and resize.quiet
        and not apply_errors
        and not rotating
    )
