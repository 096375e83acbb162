"""The media types, one module each."""

from .base import Media
from .histogram import Histogram

__all__ = ["Media", "Histogram"]
