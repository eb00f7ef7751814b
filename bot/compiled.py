"""What start-up compiles, kept on disk for the next process: compiled message templates and phrases,
and the phrase keys read from bot/'s source.

Every process that starts the bot checks its templates and phrase book (bot/templating.py); compiling
them and reading bot/'s source for the phrases it says is about a third of a start-up's CPU, and gives
the same result as long as the files are the same. A process keeps what it compiled in memory; this
keeps it on disk too (under `RUNBOOK_CACHE_DIR`), so a restarted worker, a second replica on the same
volume or the next `check-config` reads it instead. Each entry is checked against the source it was
made from (its checksum, or a name derived from it): an edited file is compiled afresh, and an entry
that cannot be read (missing, torn, another version's) is compiled again and replaced. The cache is an
optimisation only: a folder that cannot be written leaves the process compiling, as without one.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


class DiskCache:
    """Named byte strings in one folder, written atomically (a reader sees a whole entry or none)."""

    def __init__(self) -> None:
        self.folder: Path | None = None  # None until the composition root names one: memory only

    def use(self, folder: Path | None) -> None:
        self.folder = folder

    def read(self, name: str) -> bytes | None:
        if self.folder is None:
            return None
        try:
            return (self.folder / name).read_bytes()
        except OSError:
            return None

    def write(self, name: str, data: bytes) -> None:
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # A temporary file renamed into place: processes starting together never read half an entry.
            fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                os.replace(temporary, self.folder / name)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:  # a read-only image or a full disk: this process just compiles, as without a cache
            log.debug("compiled entry not kept on disk", name=name, error=str(exc))


DISK = DiskCache()


def digest(*parts: str | bytes) -> str:
    """A name for an entry made from these inputs (sources, versions): a changed input is a new name."""
    hashed = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        hashed.update(len(data).to_bytes(8, "big") + data)
    return hashed.hexdigest()


def use_cache_dir(folder: Path) -> None:
    """Keep compiled entries under `folder`, in a subfolder per Python version (marshalled code is
    specific to it); called by the composition root with the configured cache folder."""
    DISK.use(folder / f"py{sys.version_info.major}.{sys.version_info.minor}")
