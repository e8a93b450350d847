"""Files holding a secret (the embedded secret key, the coupon signing key): written once,
whole, and private from the first byte.  Pure standard library: the till imports it too,
through ``loyalty.coupons.signing``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def create_private_file(path: Path, content: bytes) -> None:
    """Write ``content`` to a temporary file (mode 0600 from its creation), then hard-link it
    to ``path``.  The link fails if another process linked first, and then its content wins:
    processes starting together agree on one file, and nobody ever reads a half-written one.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race: everyone uses its file
    finally:
        os.unlink(tmp)
