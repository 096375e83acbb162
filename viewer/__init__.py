"""localrun.viewer: the web viewer's read side, shared by ``localrun ui`` and ``localrun serve``.

Installed as ``localrun.viewer`` (from the top-level ``viewer/`` folder). Imports flow
cli -> server -> viewer -> sync -> localrun: the viewer reads runs through a ``Source``
(``source.py``), never through the server or the CLI.

- ``source.py``   the one reading interface (``Source``), and the errors it raises
- ``table.py``    a run's history by column (``RunTable``): what charts and media panels read
- ``downsample.py``  min/max bucketing, so a series of a million points draws as ~2,000
- ``columns.py``  ``ColumnStore``: history rows by column in files, memory-mapped (``IndexTable``)
- ``runindex.py`` ``RunIndex``: a run directory's index in ``<run>/index/``, fed from its segments
- ``resume.py``   a replay's state as plain data
- ``local.py``    ``LocalSource``: run directories, read while they are written
- ``files.py``    which media paths may be served, and as what Content-Type
- ``api.py``      the JSON read API under /api/v1 (docs/viewer.md)
- ``auth.py``     the Host check and the token login
- ``app.py``      the Starlette app: the API, the static front end, security headers

docs/viewer.md describes the design and the read API.
"""

from .source import NotFoundError, ReadError, RunRef, Source

__all__ = ["NotFoundError", "ReadError", "RunRef", "Source"]
