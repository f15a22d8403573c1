"""The secrets a replayed run types, found the way the agent finds them.

A plan holds no secret value, only names: a saved credential's field (`cred_x.password`), a
secret the deployment gives the run, or a fresh one-time code (`verification_code`). The
replay asks for each when its step comes: named values from the run's secrets, a code made
from the credential's authenticator secret or waited for (pushed for the run's
`totp_identifier`, answered by its `totp_url`), exactly as `request_verification_code` would.
A secret the run cannot get stops the replay at that step with the reason.

Where codes are waited for between slices, the replay's state is given: a code not there by the
slice's end pauses the run (`state.code_wait`, as the agent's wait does) and stops the replay
before the step, which the slice that has the code (sealed in the state) replays from.
"""

from __future__ import annotations

from dataclasses import dataclass

from altostratus.domain.view import RunView
from altostratus.engine.agent import code_wait
from altostratus.engine.agent.calls import obtain_code, obtain_or_pause
from altostratus.engine.agent.context import RunContext
from altostratus.engine.agent.secrets import Secrets
from altostratus.engine.agent.state import AgentState
from altostratus.engine.agent.verification import CODE_SECRET
from altostratus.engine.replay.executor import SecretPendingError, SecretUnavailableError

# The paused wait's call: a replay has no model call whose result would say the code came.
REPLAY_CODE_WAIT = "replay"


@dataclass
class RunSecrets:
    """A run's secrets for its replay: `resolve` is the executor's resolver, `redaction` hides
    every value the run knows (its named secrets, its request's own credentials)."""

    ctx: RunContext
    view: RunView
    # The replay's state where its code may be waited for between slices (None: inline).
    state: AgentState | None = None

    @property
    def redaction(self) -> Secrets:
        return self.ctx.secrets

    async def resolve(self, name: str) -> str:
        if name == CODE_SECRET:
            code, reason = await self._code()
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

    async def _code(self) -> tuple[str | None, str]:
        state, ctx = self.state, self.ctx
        if state is None:
            return await obtain_code(ctx, self.view)
        if state.code_wait is None and state.sealed_code is None:
            code, reason = await obtain_or_pause(ctx, state, REPLAY_CODE_WAIT, self.view)
            if state.code_wait is not None:
                raise SecretPendingError()
            return code, reason
        if state.code_wait is not None:
            # An earlier slice paused: this one waits on while it has time, or ends the wait.
            ended = await code_wait.resume_in_slice(ctx, state, self.view)
            if ended is not None:
                return None, ended
            if state.code_wait is not None:
                raise SecretPendingError()
        # The code came, in this slice or looked for between slices: sealed in the state.
        code = code_wait.sealed_code(ctx, state)
        state.sealed_code = None
        return code, "" if code is not None else "The run's verification code could not be unsealed."
