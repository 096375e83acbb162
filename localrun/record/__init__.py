"""The on-disk record format: framing, record kinds, segment files."""
