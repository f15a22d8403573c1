"""The agent's state between steps and slices: a serializable checkpoint.

Everything the loop remembers lives here (conversation, checklist, stall memory, counters, the
id of the next step), so a slice can end anywhere between steps and the next one, maybe in
another process, continues as if nothing happened. `dumps`/`loads` are the checkpoint format.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from altostratus.engine.agent.checklist import Subgoal
from altostratus.engine.agent.conversation import Conversation
from altostratus.engine.agent.stall import StallMemory

STATE_VERSION = 1


class PausedCodeWait(BaseModel):
    """A one-time code the run is still waiting for when its slice ran out: the slice ended
    with a checkpoint, and the next one, after a wait outside any slice, looks again.

    `call_id` is the `request_verification_code` call the code answers: its tool result is
    rewritten when the code comes, so the model sees the wait as one long call."""

    call_id: str
    # When the wait gives up (its start plus the run's code timeout), on the deployment's clock.
    gives_up_at: datetime
    # What the run's totp_url answered so far, counted by kind of answer (for the failure reason).
    pulls: dict[str, int] = Field(default_factory=dict)
    # How long the state machine waits before the next look (whole seconds, as Wait states take).
    code_wait_seconds: int = 1

    def seconds_left(self, now: datetime) -> float:
        return (self.gives_up_at - now).total_seconds()

    def next_look_in(self, now: datetime) -> int:
        """Seconds until the next look: the polling interval, or less when the wait ends sooner."""
        return max(1, min(self.code_wait_seconds, math.ceil(self.seconds_left(now))))


class PausedTurn(BaseModel):
    """A computer-use model turn cut short by a code wait: its decision (the engine's own JSON),
    the position of the action that waits for the code, and what the actions before it did. The
    slice that has the code runs the rest of the turn before asking the model again, so the
    model's calls are answered as if the code had been waited for inline."""

    decision: dict[str, Any]
    resume_at: int
    results: list[dict[str, Any]] = Field(default_factory=list)
    # The executed actions' (name, shown params), for the stall memory once the turn is done.
    executed: list[tuple[str, Any]] = Field(default_factory=list)
    # The click that gave the focus the typing goes to (`AgentState.focus_click`): the slice
    # that resumes has the page loaded again from its URL, without that focus.
    refocus: dict[str, Any] | None = None


class PausedReplay(BaseModel):
    """A code run's replay stopped at the plan step that waits for a one-time code (the run's
    `code_wait`): the slice that has the code goes on from that step, in the same replay step,
    with the page its checkpoint restores; the steps before it are not done again."""

    # The run's replay step, left open while it waits: the rest of the replay records into it.
    step_id: str
    # The plan step (1-based) that types the code.
    resume_at: int
    # Time the replay spent in the slices before, for the step's duration.
    elapsed_ms: int = 0


class AgentState(BaseModel):
    version: int = STATE_VERSION
    run_id: str
    # Allocated before the step runs and kept in checkpoints, so a slice retried from the same
    # checkpoint reuses it and its events' ids (f"{step_id}:...") are recognised as duplicates.
    next_step_id: str
    steps_taken: int = 0
    navigated: bool = False
    conversation: Conversation = Field(default_factory=Conversation)
    # tool_result blocks answering the last assistant turn, sent with the next observation.
    pending_results: list[dict[str, Any]] = Field(default_factory=list)
    # Engine notes for the next turn (nudges, what the verifier found missing).
    notes: list[str] = Field(default_factory=list)
    force_tool: str | None = None
    checklist: list[Subgoal] | None = None
    stall: StallMemory = Field(default_factory=StallMemory)
    verifier_rejections: int = 0
    turns_without_action: int = 0
    # One line per executed tool call, for the verifier and the error classification.
    history: list[str] = Field(default_factory=list)
    extraction_cache: dict[str, Any] = Field(default_factory=dict)
    last_url: str | None = None
    need_full_snapshot: bool = True
    want_screenshot: bool = False
    last_step_id: str | None = None
    # Computer-use engines: the provider's conversation state (previous_response_id, the
    # message history, the bounded UI-TARS history), as plain JSON.
    cua: dict[str, Any] = Field(default_factory=dict)
    # The one-time code the run obtained and may still have to type, sealed under the
    # deployment's key: a slice that ends before typing it hands it to the next one.
    sealed_code: str | None = None
    # Set while the run waits for a code between slices.
    code_wait: PausedCodeWait | None = None
    # Code runs: the replay waiting with the run for its code (None for the agent's steps).
    replay: PausedReplay | None = None
    # Computer-use engines: the model turn whose typing of the code waits with the run.
    paused_turn: PausedTurn | None = None
    # Computer-use engines: the last click, while the focus it gave is still where typing goes
    # (no key, drag or page change since), as the pixel action's JSON.
    focus_click: dict[str, Any] | None = None

    def dumps(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def loads(cls, raw: bytes | str) -> AgentState:
        state = cls.model_validate_json(raw)
        if state.version != STATE_VERSION:
            raise ValueError(f"agent state version {state.version} is not {STATE_VERSION}")
        return state
