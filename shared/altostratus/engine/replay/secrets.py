"""The secrets a replayed run types, found the way the agent finds them.

A plan holds no secret value, only names: a saved credential's field (`cred_x.password`), a
secret the deployment gives the run, or a fresh one-time code (`verification_code`). The
replay asks for each when its step comes: named values from the run's secrets, a code made
from the credential's authenticator secret or waited for (pushed for the run's
`totp_identifier`, answered by its `totp_url`), exactly as `request_verification_code` would.
A secret the run cannot get stops the replay at that step with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from altostratus.domain.view import RunView
from altostratus.engine.agent.calls import obtain_code
from altostratus.engine.agent.context import RunContext
from altostratus.engine.agent.secrets import Secrets
from altostratus.engine.agent.verification import CODE_SECRET
from altostratus.engine.replay.executor import SecretUnavailableError


@dataclass
class RunSecrets:
    """A run's secrets for its replay: `resolve` is the executor's resolver, `redaction` hides
    every value the run knows (its named secrets, its request's own credentials)."""

    ctx: RunContext
    view: RunView

    @property
    def redaction(self) -> Secrets:
        return self.ctx.secrets

    async def resolve(self, name: str) -> str:
        if name == CODE_SECRET:
            code, reason = await obtain_code(self.ctx, self.view)
            if code is None:
                raise SecretUnavailableError(reason)
            # Kept like the agent's: the slice's trace, redacted once the slice ends, hides it.
            self.ctx.keep_code(code)
            return code
        value = self.ctx.secrets.value(name)
        if value is None:
            raise SecretUnavailableError(
                f"the run has no secret {name!r} (a deleted credential, or one of another organization)"
            )
        return value
