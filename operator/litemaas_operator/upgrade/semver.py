"""Semantic Versioning 2.0.0 precedence, for telling an upgrade from a downgrade.

Only what ``spec.version`` admits is parsed: ``[v]MAJOR.MINOR.PATCH[-PRERELEASE]`` (no build
metadata: an image tag cannot carry ``+``). ``0.5.1-rc.1 < 0.5.1 < 0.5.2-alpha < 0.5.2``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$")


@total_ordering
@dataclass(frozen=True)
class Version:
    """A parsed version; compares by SemVer precedence."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    def _key(self) -> tuple:
        # A release sorts after every pre-release of the same core version.
        pre: tuple = (1,) if not self.prerelease else (0, *map(_identifier_key, self.prerelease))
        return (self.major, self.minor, self.patch, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()


def _identifier_key(identifier: str) -> tuple[int, int, str]:
    # Numeric identifiers compare numerically and sort before alphanumeric ones; a shorter set of
    # identifiers sorts first when all before are equal (tuple comparison does exactly that).
    if identifier.isdigit():
        return (0, int(identifier), "")
    return (1, 0, identifier)


def parse(text: str | None) -> Version | None:
    """The version in ``text`` (a leading ``v`` allowed), or None when it is not SemVer."""
    match = _VERSION.match(text or "")
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    return Version(int(major), int(minor), int(patch), tuple(pre.split(".")) if pre else ())


def is_downgrade(wanted: str, running: str | None) -> bool:
    """Whether moving from ``running`` to ``wanted`` goes back in SemVer order.

    Unparseable versions (a label edited by hand) are never called a downgrade: refusing needs
    certainty, and the pre-upgrade backup still guards the move.
    """
    new, old = parse(wanted), parse(running)
    return new is not None and old is not None and new < old
