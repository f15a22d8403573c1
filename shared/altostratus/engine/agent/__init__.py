"""The agent engine (skyvern-1.0 and skyvern-2.0): Claude drives the browser through tools.

Entry points: `run_slice` (one time slice of a run, for the state machine), `finish_run` (the
terminal event for an Outcome), `run_to_end` (all slices with one browser, for tests/demo).
"""

from altostratus.engine.agent.browser import AgentBrowser, Effect, Observation
from altostratus.engine.agent.deps import AgentDeps
from altostratus.engine.agent.outcome import REACH_MAX_STEPS, Outcome, finish_run
from altostratus.engine.agent.runner import SliceResult, new_state, run_slice, run_to_end
from altostratus.engine.agent.settings import EngineSettings, ScreenshotsInPrompt
from altostratus.engine.agent.state import AgentState

__all__ = [
    "REACH_MAX_STEPS",
    "AgentBrowser",
    "AgentDeps",
    "AgentState",
    "Effect",
    "EngineSettings",
    "Observation",
    "Outcome",
    "ScreenshotsInPrompt",
    "SliceResult",
    "finish_run",
    "new_state",
    "run_slice",
    "run_to_end",
]
