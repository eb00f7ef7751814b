"""How the bot shows environment and ConfigMap values: names the catalog marks safe (`shown_values`)
as they are, every other value as a keyed fingerprint, so "changed / unchanged" stays visible while
the value itself never reaches Slack, the audit log or the logs.

The fingerprint is an HMAC, not a plain hash: an unkeyed sha256 of a low-entropy value (`true`, a
4-digit PIN, a short password) is reversed by trying every candidate. Its key is a secret the readers
of Slack and of the audit log do not hold (VALUE_FINGERPRINT_KEY, else derived from the signing
secret), the same on every replica and across restarts so fingerprints stay comparable.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

# What env_value reports for `valueFrom` (a Secret or ConfigMap reference): never read, shown as is.
REFERENCE = "(from a reference)"
_DERIVATION_LABEL = b"runbook-bot value fingerprints v1"


def derive_key(*candidates: str) -> bytes:
    """The first non-empty secret, domain-separated; a random key when there is none (fingerprints
    then compare within one process only, which is still safe to show)."""
    for candidate in candidates:
        if candidate:
            return hmac.new(candidate.encode(), _DERIVATION_LABEL, hashlib.sha256).digest()
    return secrets.token_bytes(32)


@dataclass(frozen=True)
class ValueMask:
    shown: frozenset[str]  # variable / key names whose values are safe to show
    key: bytes

    @classmethod
    def of(cls, shown: Iterable[str], key: bytes) -> ValueMask:
        return cls(frozenset(shown), key)

    def fingerprint(self, value: str) -> str:
        return hmac.new(self.key, value.encode(), hashlib.sha256).hexdigest()[:8]

    def show(self, name: str | None, value: str | None) -> str | None:
        """`value` as it may be written anywhere: itself when `name` is safe to show, else `secret:<fp>`."""
        if value is None or value == REFERENCE or (name is not None and name in self.shown):
            return value
        return f"secret:{self.fingerprint(value)}"
