"""Which image `set-image` may deploy: a new tag of an allowed repository (runbook 001's security patch:
`kubectl set image deployment/mail-score-backend backend=ghcr.io/repo/mail-score-backend:security-patch`).

Pure functions: the catalog's `image_repositories` is the allow-list; an image outside it is refused
before anything is sent to the cluster, with the list.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot import errors

TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")  # the OCI distribution spec's tag grammar


def repository(image: str) -> str:
    """`registry:5000/team/app:1.2@sha256:…` → `registry:5000/team/app` (a registry port is not a tag)."""
    name = image.split("@", 1)[0]
    colon = name.rfind(":")
    return name[:colon] if colon > name.rfind("/") else name


def new_image(current: str, wanted: str, allowed: Sequence[str], service: str | None) -> str:
    """The image to deploy: `wanted` is a tag (same repository as now) or `repository:tag`. Either way
    the repository must be one the catalog allows for the service."""
    if not allowed:
        raise errors.UserError("no_image_repositories", service=service)
    if TAG.match(wanted):
        repo, tag = repository(current), wanted
    else:
        repo = repository(wanted)
        tag = wanted[len(repo) + 1 :]
    if not TAG.match(tag):
        raise errors.UserError("not_an_image_tag", image=errors.Code(wanted))
    if repo not in allowed:
        shown = [errors.Code(a) for a in allowed]
        raise errors.UserError("repository_not_allowed", repository=errors.Code(repo), service=service, allowed=shown)
    return f"{repo}:{tag}"
