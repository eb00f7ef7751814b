"""Target addresses come from environment variables named in the catalog, so secrets stay out of YAML."""

from __future__ import annotations

import os

from pydantic import BaseModel

from bot import errors


def from_env(variable: str, dependency: str) -> str:
    """The value of `variable`, read when needed (never at import); unset → UnavailableError."""
    value = os.environ.get(variable, "").strip()
    if not value:
        raise errors.UnavailableError(dependency, errors.Said("env_not_set", variable=variable))
    return value


def named_values(config: BaseModel) -> list[str]:
    """The values of every environment variable the configuration names (fields called `*_env`).

    They are DSNs and URLs with passwords: the logger redacts them wherever they appear.
    """
    found: list[str] = []
    for name in type(config).model_fields:
        value = getattr(config, name)
        items = value.values() if isinstance(value, dict) else value if isinstance(value, list | tuple) else [value]
        for item in items:
            if isinstance(item, BaseModel):
                found += named_values(item)
            elif name.endswith("_env") and isinstance(item, str) and os.environ.get(item, "").strip():
                found.append(os.environ[item].strip())
    return found
