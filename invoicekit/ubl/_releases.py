"""Peppol BIS Billing 3.0 releases: when each was published and from when it is mandatory.

Sources: 3.0.19 from its release notes (OpenPEPPOL/peppol-bis-invoice-3, guide/release-notes/v3.0.19.adoc:
published 2025-05-19, mandatory 2025-08-21); 3.0.20 from the November 2025 release notes (published
2025-11-24, mandatory 2026-02-23, CEN 1.3.15); 3.0.21 and 3.0.22 from OpenPeppol's announcements (published
2026-05-20 and 2026-11-23, mandatory 2026-08-24 and 2027-02-24). A release this table does not know is still
installable; it just carries no dates, and a pack newer than every known release is never called outdated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

__all__ = ["RELEASES", "Release", "mandatory_release", "release_info", "version_key"]

_VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*$")


def version_key(version: str) -> tuple[int, ...]:
    """``"3.0.19"`` -> ``(3, 0, 19)``, so that 3.0.100 sorts after 3.0.99; ValueError for anything else."""
    if not _VERSION.match(version):
        raise ValueError(f"not a release number: {version!r}")
    return tuple(int(part) for part in version.split("."))


@dataclass(frozen=True, slots=True)
class Release:
    """One Peppol BIS Billing 3.0 release and the CEN EN 16931 rules it bundles."""

    version: str
    published: date | None
    mandatory: date | None
    cen_version: str | None


#: Known releases, oldest first.
RELEASES: tuple[Release, ...] = (
    Release("3.0.19", date(2025, 5, 19), date(2025, 8, 21), "1.3.14.1"),
    Release("3.0.20", date(2025, 11, 24), date(2026, 2, 23), "1.3.15"),
    Release("3.0.21", date(2026, 5, 20), date(2026, 8, 24), None),
    Release("3.0.22", date(2026, 11, 23), date(2027, 2, 24), None),
)


def release_info(version: str) -> Release | None:
    return next((release for release in RELEASES if release.version == version), None)


def mandatory_release(on: date) -> Release | None:
    """The newest release that is mandatory on ``on`` (None before the first one this table knows)."""
    in_force = [release for release in RELEASES if release.mandatory is not None and release.mandatory <= on]
    return max(in_force, key=lambda release: version_key(release.version), default=None)
