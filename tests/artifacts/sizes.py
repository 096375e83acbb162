"""Bytes a folder really takes on disk (blocks allocated, each inode once)."""

from __future__ import annotations

import os


def disk_bytes(folder: str) -> int:
    seen = set()
    total = 0
    for root, _, files in os.walk(folder):
        for f in files:
            st = os.stat(os.path.join(root, f))
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total
