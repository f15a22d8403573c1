"""The agent engine (skyvern-1.0 and skyvern-2.0): Claude drives the browser through tools.

Entry points: `run_slice` (one time slice of a run, for the state machine) and `run_to_end`
(all slices with one browser, for tests/demo); how a run ends is `domain.lifecycle.RunOutcome`.
"""

from altostratus.engine.agent.deps import AgentDeps
from altostratus.engine.agent.runner import SliceResult, new_state, run_slice, run_to_end
from altostratus.engine.agent.settings import EngineSettings, ScreenshotsInPrompt
from altostratus.engine.agent.state import AgentState

__all__ = [
    "AgentDeps",
    "AgentState",
    "EngineSettings",
    "ScreenshotsInPrompt",
    "SliceResult",
    "new_state",
    "run_slice",
    "run_to_end",
]
