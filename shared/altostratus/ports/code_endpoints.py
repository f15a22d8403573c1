"""The code-endpoint port: asking a run's `totp_url` for a one-time code.

Contract (`tests/contract/test_code_endpoint.py`, every adapter):
- `ask(url, body, headers)` POSTs `body` with `headers` to the URL and never raises for what the
  network or the receiver does: the answer says what happened.
- The URL (and every redirect target, at most `MAX_REDIRECTS` of them) passes the callback
  address policy at the moment of the call; a refused address is never contacted. An
  https URL that redirects to http is refused, and so is a 307/308 to another origin (it would
  replay the signed body there); the signature headers never follow a hop to another origin.
- A 200 answer with a JSON body `{"verification_code": "..."}` gives the code; an empty or
  missing code is "no code yet"; a 200 that is not JSON, or any other status, is recorded as
  such in `describe()`, in words that never quote the URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

MAX_REDIRECTS = 3


@dataclass(frozen=True)
class CodeAnswer:
    """What one ask got. `status_code` is None when no HTTP answer arrived (`problem` says why)."""

    status_code: int | None
    code: str | None = None
    problem: str | None = None

    def describe(self) -> str:
        """The answer in a few words, for a failure reason that lists what the endpoint said."""
        if self.problem is not None:
            return self.problem
        if self.status_code == 200:
            return "200 with a code" if self.code else "200 without a code"
        return f"status {self.status_code}"


class CodeEndpoint(Protocol):
    def ask(self, url: str, body: bytes, headers: Mapping[str, str]) -> CodeAnswer: ...
