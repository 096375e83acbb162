"""The server's files: private to the user who runs it, and what a full disk looks like.

Everything under the data folder is the server owner's only: folders 0700, files 0600
(``runs.sqlite`` and its ``-wal``/``-shm``, every blob), whatever the umask, so a token is not
bypassed by reading the database off the disk. Modes are set with ``chmod`` on the paths the
server makes (never by changing the process umask: the server may run inside someone else's
process), and a data folder made by an older server is tightened when it is opened.

A full disk (or a quota, or a file size limit) shows up as ``OSError`` ENOSPC, EDQUOT or EFBIG
from a blob write, or as SQLite's "database or disk is full" (SQLITE_FULL) or a failed write
(SQLITE_IOERR_WRITE, which is what SQLite reports for EFBIG and EDQUOT), or as PostgreSQL's
``disk_full`` (SQLSTATE 53100, a psycopg error's ``sqlstate``). ``disk_full`` tells
those apart from other failures, so the server answers 507 and not a bare 500.
"""

from __future__ import annotations

import os
import sqlite3

from localrun.durable import DISK_FULL_ERRNOS

FOLDER_MODE = 0o700
FILE_MODE = 0o600

_SQLITE_FULL = 13
_SQLITE_IOERR_WRITE = 778
_POSTGRES_DISK_FULL = "53100"


def private_folder(path: str) -> str:
    """Make ``path`` (and missing parents) if needed, and make it 0700."""
    os.makedirs(path, mode=FOLDER_MODE, exist_ok=True)
    tighten(path, FOLDER_MODE)
    return path


def private_file(path: str) -> str:
    """Create ``path`` empty if it is missing, and make it 0600 (an existing file keeps its bytes)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def tighten(path: str, mode: int) -> None:
    """chmod ``path`` to ``mode`` unless it already is; a path that is gone is fine."""
    try:
        if os.stat(path).st_mode & 0o7777 != mode:
            os.chmod(path, mode)
    except FileNotFoundError:
        pass


def disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or an exception it was raised from or while handling) says the disk is full."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
            return True
        if getattr(exc, "sqlstate", None) == _POSTGRES_DISK_FULL:
            return True
        if isinstance(exc, sqlite3.Error):
            code = getattr(exc, "sqlite_errorcode", None)
            if code in (_SQLITE_FULL, _SQLITE_IOERR_WRITE) or "database or disk is full" in str(
                exc
            ):
                return True
            if code is None and str(exc) == "disk I/O error":  # Python < 3.11: no error code
                return True
        exc = exc.__cause__ or exc.__context__
    return False
