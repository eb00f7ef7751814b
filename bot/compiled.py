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

import dataclasses
import datetime
import decimal
import enum
import functools
import hashlib
import json
import os
import sys
import tempfile
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path, PurePath

import jinja2
import pydantic
import slack_sdk.version
import structlog
import yaml

log = structlog.get_logger(__name__)

PACKAGE = Path(__file__).resolve().parent


class DiskCache:
    """Named byte strings in one folder, written atomically (a reader sees a whole entry or none)."""

    def __init__(self) -> None:
        self.folder: Path | None = None  # None until the composition root names one: memory only
        self._writable = True  # until a write fails: then this process only reads (a read-only image)

    def use(self, folder: Path | None) -> None:
        if folder != self.folder:
            self.folder, self._writable = folder, True

    def read(self, name: str) -> bytes | None:
        if self.folder is None:
            return None
        try:
            return (self.folder / name).read_bytes()
        except OSError:
            return None

    def write(self, name: str, data: bytes) -> None:
        if self.folder is None or not self._writable:
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
            self._writable = False
            log.debug("compiled entries not kept on disk", folder=str(self.folder), error=str(exc))


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


@functools.cache
def code_digest() -> str:
    """The bot's own source and the versions of the libraries a check runs on (read once per process):
    a result worked out by other code is never read."""
    parts: list[str | bytes] = [sys.version, jinja2.__version__, slack_sdk.version.__version__, yaml.__version__]
    parts.append(pydantic.VERSION)
    for path in sorted(PACKAGE.rglob("*.py")):
        parts += [str(path.relative_to(PACKAGE)), path.read_bytes()]
    return digest(*parts)


def remembered(kind: str, inputs: Sequence[str | bytes], work_out: Callable[[], list[str]]) -> list[str]:
    """`work_out()`, or the lines it gave an earlier process for the same inputs (files' names and
    contents) and the same code (code_digest): a deterministic check is not worked out again."""
    name = f"{kind}-{digest(code_digest(), *inputs)}"
    kept = DISK.read(name)
    if kept is not None:
        try:
            lines = json.loads(kept)
            if isinstance(lines, list) and all(isinstance(line, str) for line in lines):
                return lines
        except ValueError:  # not an entry this code wrote: work it out again
            pass
    lines = work_out()
    DISK.write(name, json.dumps(lines).encode())
    return lines


class NotData(TypeError):
    """A value `canonical` cannot spell exactly (a function, a client, a secret): nothing is kept for it."""


_EXACT_REPR = (datetime.date, datetime.time, datetime.timedelta, uuid.UUID, PurePath, enum.Enum, decimal.Decimal)


def _tagged(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return [type(value).__name__, value]
    if isinstance(value, list | tuple):
        return [type(value).__name__, [_tagged(item) for item in value]]
    if isinstance(value, set | frozenset):
        return [type(value).__name__, sorted(json.dumps(_tagged(item)) for item in value)]
    if isinstance(value, dict):  # keys tagged too: 1 and "1" are different keys
        return ["dict", sorted([json.dumps(_tagged(key)), _tagged(item)] for key, item in value.items())]
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [kind, {f.name: _tagged(getattr(value, f.name)) for f in dataclasses.fields(value)}]
    if isinstance(value, pydantic.BaseModel):
        fields = {name: _tagged(getattr(value, name)) for name in type(value).model_fields}
        return [kind, fields, _tagged(value.model_extra)]
    if isinstance(value, _EXACT_REPR):  # their reprs spell every part (a datetime's zone included)
        return [kind, repr(value)]
    raise NotData(kind)


def canonical(value: object) -> str:
    """A text that only equal data gives: every value tagged with its type (dataclasses and pydantic models
    field by field). NotData for anything else, whose repr could hide what differs."""
    return json.dumps(_tagged(value))
