"""localrun.server: the remote endpoint that ``localrun sync`` pushes runs to.

Installed as ``localrun.server`` (from the top-level ``server/`` folder). It imports
``localrun.sync`` and ``localrun``; neither imports it. Needs the ``server`` extra
(``pip install 'localrun[server]'``): Starlette and uvicorn.

``create_app(data_dir)`` builds the ASGI app; ``localrun serve`` runs it under uvicorn with
``connections.serve`` (header and idle timeouts, a connection cap). The wire protocol and its
limits are docs/protocol.md.
"""

from .app import Limits, create_app
from .storage import Storage, open_storage

__all__ = ["Limits", "Storage", "create_app", "open_storage"]
