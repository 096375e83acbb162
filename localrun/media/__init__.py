"""The media types, one module each; ``localrun/__init__.py`` imports them on first use.

Importing this package imports none of numpy, PIL, av or matplotlib: each type imports what
it needs when it is used.
"""

from .base import KeyedMedia, Media

__all__ = ["KeyedMedia", "Media"]
