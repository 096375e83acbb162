"""Artifacts: versioned sets of files, stored once by content in the runs root.

``artifact.py`` holds ``Artifact`` (wandb's API), ``store.py`` the storage in a runs root
(objects and the index of versions and aliases), ``recording.py`` what a run does to log
and use them. docs/format.md, "Artifacts", is the specification.
"""

from __future__ import annotations

from .artifact import Artifact, Manifest, ManifestEntry

__all__ = ["Artifact", "Manifest", "ManifestEntry"]
