"""The engine's knobs, set by the runtime's composition root (the engine reads no environment)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from altostratus.domain.models import DEFAULT_CHEAP_MODEL, DEFAULT_MAIN_MODEL


class ScreenshotsInPrompt(StrEnum):
    """When the model is shown a screenshot besides the text snapshot."""

    # Text first, vision as a fallback: after an action failed or had no visible effect, on a
    # page with almost nothing to act on (canvas, images), and when the model calls `screenshot`.
    AUTO = "auto"
    NEW_PAGES = "new_pages"  # AUTO plus the first view of every new page
    ON_REQUEST = "on_request"  # only when the model calls `screenshot`
    EVERY_STEP = "every_step"


@dataclass(frozen=True)
class EngineSettings:
    main_model: str = DEFAULT_MAIN_MODEL
    cheap_model: str = DEFAULT_CHEAP_MODEL
    max_output_tokens: int = 2048
    # Diffs after the first snapshot of a page; False sends the whole snapshot every step.
    snapshot_diffs: bool = True
    # cache_control on the stable prefix and on the newest turn.
    prompt_caching: bool = True
    screenshots_in_prompt: ScreenshotsInPrompt = ScreenshotsInPrompt.AUTO
    # Superseded snapshots and images stay in the conversation (read from the prompt cache at a
    # tenth of the input price) until they add up to this many characters, then all are elided
    # at once: eliding at every new page would rewrite the cached conversation at every step.
    elide_superseded_after_chars: int = 24_000
    # When more images than this are in the conversation, all but the newest become stubs.
    max_images_in_conversation: int = 3
    # A page with at most this many elements is probably drawn (canvas, images): AUTO shows it.
    few_elements: int = 2
    max_verifier_rejections: int = 2
    # How many past actions the verifier sees when the request does not ask for all of them.
    verifier_recent_actions: int = 8
    # Stall escalation: identical actions on an unchanged page before nudge, re-plan, stop.
    stall_nudge_at: int = 2
    stall_replan_at: int = 3
    stall_stop_at: int = 4
    # Consecutive model turns without a usable tool call before the run fails.
    max_turns_without_action: int = 3
    # A slice stops starting steps when less than this is left before its deadline.
    step_time_reserve_s: float = 60.0
    # A run ends timed out this long after it started, whatever it is doing (None: no limit).
    max_run_seconds: float | None = 3600.0
    # How often a slice looks at the run's view for an end decided elsewhere (a cancel) and
    # for its time limit, so either stops the slice promptly, even during a model call.
    watch_interval_s: float = 0.5
    # Per-step artifacts that cost time; the bench switches them off to compare.
    store_html_scrape: bool = True
    store_llm_exchanges: bool = True
    # Markdown beyond this many characters is cut before extraction.
    max_extraction_chars: int = 60_000
    # A run asking for a one-time code looks for one this often, for at most this long.
    totp_poll_s: float = 10.0
    totp_timeout_s: float = 900.0
    # A slice that runs out while waiting for a code pauses the run: it ends with a checkpoint and
    # a later slice looks again (the state machine waits in between). False: the slice waits
    # inline for the whole timeout.
    totp_wait_between_slices: bool = False
    # -- computer-use engines --
    openai_cua_model: str = "computer-use-preview"
    anthropic_cua_model: str = DEFAULT_MAIN_MODEL
    ui_tars_model: str = "ui-tars"
    # How UI-TARS writes coordinates: "doubao" (relative 0-1000) or "qwen25vl" (absolute on the
    # smart-resized image); it depends on the model.
    ui_tars_coordinates: str = "doubao"
    ui_tars_language: str = "English"
    # Screenshots kept in the UI-TARS conversation (vLLM's --limit-mm-per-prompt).
    ui_tars_history_images: int = 5
    # OpenAI's pending safety checks: "refuse" ends the run terminated with the check's
    # message; "acknowledge" records them and goes on.
    cua_safety_checks: str = "refuse"
    # Screenshots kept in the Anthropic computer-use conversation (older ones become stubs).
    cua_history_images: int = 3
