"""``wandb.errors``: the classes wandb code catches, as localrun's.

``Error`` is ``localrun.Error`` (every exception localrun raises), ``UsageError`` localrun's.
``CommError`` (wandb could not reach its server) is never raised offline: it exists so an
``except wandb.errors.CommError`` still compiles and catches nothing.
"""

from __future__ import annotations

from localrun.errors import Error, UsageError


class CommError(Error):
    """Never raised: localrun talks to no server while recording."""


__all__ = ["CommError", "Error", "UsageError"]
