"""localrun's stand-in for the ``wandb`` package, for code that says ``import wandb`` itself.

``localrun run -- COMMAND`` puts :data:`PATH` (this folder) first on ``PYTHONPATH`` for the
command and every process it starts. The folder holds two things:

- ``wandb/``, a package whose modules forward to localrun: ``wandb.init`` is ``localrun.init``,
  ``wandb.run``, ``wandb.config`` and ``wandb.summary`` are read from localrun when they are
  used (so they are never stale), and the names integrations import from wandb's inner
  modules (``wandb.sdk.lib.config_util.ConfigError``, ``wandb.sdk.lib.RunDisabled``,
  ``wandb.wandb_run.Run``...) exist there. Which names exist, and which are no-ops, is the
  table in docs/wandb.md.
- ``wandb-<WANDB_VERSION>.dist-info/METADATA``: a distribution record, so version checks that
  read package metadata (``importlib.metadata``, ``pkg_resources``, Lightning's
  ``RequirementCache``, accelerate's ``is_wandb_available``) see a wandb installed.

Nothing is installed: the folder is on the path of that process tree only, ahead of any real
wandb, which stays installed and untouched. The modules here import localrun only.
"""

from __future__ import annotations

import os

#: The folder that goes first on ``PYTHONPATH``: it holds ``wandb/`` and its dist-info.
PATH = os.path.dirname(os.path.abspath(__file__))

#: The wandb release whose API the stand-in follows, and the version it reports
#: (``wandb.__version__`` and its dist-info): new enough for every version check the
#: integrations make. Its dist-info folder is named after it (a test checks).
WANDB_VERSION = "0.30.0"

__all__ = ["PATH", "WANDB_VERSION"]
