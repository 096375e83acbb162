"""Every exception localrun raises, in one tree.

::

    localrun.Error                      root: catch this to catch everything of ours
    ├─ UsageError                       an API called out of order (log() before init(), after finish())
    ├─ KeyTypeError (TypeError, ValueError)     a logged key localrun cannot store (not a str, nor
    │                                   an int, float, bool or None inside a value), or two keys
    │                                   of one dict stored as the same text
    ├─ ValueTypeError (TypeError, ValueError)   a logged value localrun cannot store: bytes, a type
    │                                   with no plain form, nesting deeper than 64, a record over
    │                                   16 MiB, a reserved key (_step, _runtime); or a bad argument
    ├─ InvalidNameError (ValueError)    a project name a server could not hold (init(project=...))
    ├─ StepError (ValueError)           a step that goes backwards, with strict_steps on
    ├─ ConfigError                      config.update() (or config[k] = v, config.k = v) changing
    │                                   a value set before, without allow_val_change=True (wandb's
    │                                   wandb.sdk.lib.config_util.ConfigError)
    ├─ RunDirError                      a path that is not a run directory, a run that cannot be
    │  │                                opened, or a run id that cannot name one
    │  ├─ RunExistsError                init(id=X) for an existing run without resume="allow"
    │  ├─ RunNotFoundError              init(id=X, resume="must") for a run that does not exist
    │  ├─ RunLockedError                a run that another live process is still writing
    │  └─ FormatVersionError            a run written by a newer localrun
    ├─ DiskFullError (OSError)          the disk (or quota, or file size limit) is full
    ├─ CorruptRecordError               a damaged record: names the segment, byte offset and reason
    ├─ MediaError (ValueError)          bad input to Image, Video, Audio, Table...
    │  └─ MediaTypeError (TypeError)    ...when the type itself is wrong (or a Table cell does not
    │     │                             fit its column's type, where wandb raises TypeError)
    │     └─ MediaUsageError (AssertionError)   a media object used against its rules where
    │                                   wandb asserts: Table(rows) where columns go, a second primary key
    ├─ ArtifactError (ValueError)       a bad artifact name, type, alias or path in it, a file
    │  │                                that cannot be added, a stored file that is damaged
    │  └─ ArtifactNotFoundError         no such artifact, version or alias in the runs root
    │                                   (or on the server)
    ├─ ArtifactStateError (AttributeError)  an Artifact method used in the wrong state:
    │  ├─ ArtifactNotLoggedError        ...before the artifact was logged (version, download)
    │  └─ ArtifactFinalizedError        ...after it was logged (add_file, new_file)
    ├─ ApiError (ValueError)            localrun.Api given a path, filter or argument it cannot take
    ├─ ExportError                      an export to another tool's format that cannot be written:
    │                                   its output folder is not empty, or the optional package
    │                                   it needs (``localrun[wandb]``...) is not installed
    └─ SyncError                        a sync (or a read of a remote run) that did not complete
       ├─ TransportError                retryable: no connection, a timeout, a 5xx; wraps the httpx error
       │  └─ RemoteUnreachableError     no connection at all, after the retries (refused, no such
       │                                host): every other call fails the same way, so a sync stops
       └─ RemoteRejectedError           not retryable: the remote answered 4xx; carries url, status, body
          └─ RemoteAuthError            401/403/421: no token, a wrong one, or a name the remote does
                                        not answer to; a sync stops (every call would be refused)

Where wandb users would catch a builtin (``TypeError`` for a bad key, ``ValueError`` for bad
data), our class subclasses both, so ``except ValueError`` keeps working after the import switch.
Every message says what happened, shows the bad value, and says what to do next. What a
record may hold (and so what KeyTypeError and ValueTypeError refuse) is defined once, in
``localrun/contract.py``; such a refusal happens at the call, before anything is written.
"""

from __future__ import annotations


class Error(Exception):
    """Root of every exception localrun raises."""


class UsageError(Error):
    """The API was used out of order, e.g. ``log()`` before ``init()``."""


class KeyTypeError(Error, TypeError, ValueError):
    """A key passed to ``log()`` (or the summary) cannot be stored: a top-level key that is not
    a string, a key inside a value of another type than str, int, float, bool or None, or two
    keys of one dict that would be stored as the same text (``{1: .., "1": ..}``)."""


class ValueTypeError(Error, TypeError, ValueError):
    """A value passed to ``log()`` (config, summary, notes...) cannot be stored: a type with no
    plain form (bytes, ``np.void``...), nesting deeper than ``contract.MAX_DEPTH``, a record
    over ``contract.MAX_RECORD_BYTES``, a reserved key (``_step``, ``_runtime``, a
    ``_timestamp`` that is not a time); or an argument of an API call is of the wrong type or
    out of range (``watch(model, log=..., log_freq=...)``)."""


class InvalidNameError(Error, ValueError):
    """A name a server could not hold: ``init(project=...)`` with ``/ \\ # ? % :``, a control
    character, a leading dot or space, or over 128 characters (``contract.PROJECT_RULE``)."""


class StepError(Error, ValueError):
    """A step went backwards while strict steps are on."""


class ConfigError(Error):
    """A config value set before was changed without ``allow_val_change=True``, as wandb
    refuses it (``wandb.sdk.lib.config_util.ConfigError``, which is not a ValueError either)."""


class RunDirError(Error):
    """A path is not a usable run directory."""


class RunExistsError(RunDirError):
    """``init(id=...)`` named a run that already exists, without ``resume``."""


class RunNotFoundError(RunDirError):
    """``init(id=..., resume="must")`` named a run that does not exist."""


class RunLockedError(RunDirError):
    """Another live process is writing this run."""


class FormatVersionError(RunDirError):
    """The run was written in a format newer than this localrun reads."""


class DiskFullError(Error, OSError):
    """A write failed because the disk, the quota or the file size limit is full."""


class CorruptRecordError(Error):
    """A record failed its checksum or could not be decoded."""

    def __init__(self, segment: str, offset: int, reason: str, size_bytes: int | None = None):
        self.segment = segment
        self.offset = offset
        self.reason = reason
        self.size_bytes = size_bytes
        super().__init__(f"damaged record in {segment} at byte {offset}: {reason}")


class MediaError(Error, ValueError):
    """Bad input to a media type (Image, Video, Audio, Table, ...)."""


class MediaTypeError(MediaError, TypeError):
    """A media type was given an argument of the wrong type."""


class MediaUsageError(MediaTypeError, AssertionError):
    """A media object used against its rules, where wandb fails an assertion: a list of rows
    passed as a Table's columns, a column added with the wrong number of values, a second
    primary key, an unknown ``log_mode``. Also an ``AssertionError``, so code that catches
    wandb's keeps working."""


class ArtifactError(Error, ValueError):
    """Bad input to an Artifact (name, type, alias, a path inside it, a file that cannot be
    read), or a stored artifact file that is damaged or missing."""


class ArtifactNotFoundError(ArtifactError):
    """No artifact, version or alias of that name in the runs root (or on the server)."""


class ArtifactStateError(Error, AttributeError):
    """An Artifact method used in a state where it means nothing (wandb raises AttributeError)."""


class ArtifactNotLoggedError(ArtifactStateError):
    """A property or method that needs a logged artifact (``version``, ``download``...)."""


class ArtifactFinalizedError(ArtifactStateError):
    """A change to an artifact that was already logged (``add_file``, ``new_file``...)."""


class ApiError(Error, ValueError):
    """``localrun.Api`` given a run or project path, a filter or an argument it cannot take, or
    asked for a run that is not there."""


class ExportError(Error):
    """An export to another tool's format (``localrun export --format wandb|tensorboard``) cannot
    be written: the output folder is not empty, or the package it needs is missing."""


class SyncError(Error):
    """Root of the errors raised while syncing runs to a remote."""


class TransportError(SyncError):
    """The remote could not be reached, or answered 5xx: worth retrying later."""


class RemoteRejectedError(SyncError):
    """The remote refused a request (4xx): retrying the same request will not help."""

    def __init__(self, message: str, url: str = "", status: int = 0, body: str = ""):
        self.url = url
        self.status = status
        self.body = body
        super().__init__(message)


class RemoteUnreachableError(TransportError):
    """No connection to the remote at all (refused, no such host, connect timeout), after the
    retries: every other call would fail the same way."""


class RemoteAuthError(RemoteRejectedError):
    """The remote refused this client, not one request: 401 (no token or a wrong one), 403 or
    421 (a name it does not answer to). Every other call would be refused the same way."""
