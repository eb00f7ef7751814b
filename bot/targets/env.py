"""Target addresses come from environment variables named in the catalog, so secrets stay out of YAML."""

from __future__ import annotations

import os

from bot import errors


def from_env(variable: str, dependency: str) -> str:
    """The value of `variable`, read when needed (never at import); unset → UnavailableError."""
    value = os.environ.get(variable, "").strip()
    if not value:
        raise errors.UnavailableError(dependency, f"environment variable {variable} is not set")
    return value
