"""The closed vocabularies of a run: statuses, run types, engines, artifact and action types."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    CREATED = "created"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    TERMINATED = "terminated"
    TIMED_OUT = "timed_out"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.TERMINATED, RunStatus.TIMED_OUT, RunStatus.CANCELED}
)


class RunType(StrEnum):
    TASK_V1 = "task_v1"
    TASK_V2 = "task_v2"
    OPENAI_CUA = "openai_cua"
    ANTHROPIC_CUA = "anthropic_cua"
    UI_TARS = "ui_tars"
    WORKFLOW_RUN = "workflow_run"

    @property
    def id_prefix(self) -> str:
        if self is RunType.WORKFLOW_RUN:
            return "wr"
        if self is RunType.TASK_V2:
            return "tsk_v2"
        return "tsk"


class Engine(StrEnum):
    """Agent engines, by their wire values; `parse` also takes the SDK's enum member names."""

    SKYVERN_V1 = "skyvern-1.0"
    SKYVERN_V2 = "skyvern-2.0"
    SKYVERN_V3 = "skyvern-3.0"
    OPENAI_CUA = "openai-cua"
    ANTHROPIC_CUA = "anthropic-cua"
    UI_TARS = "ui-tars"
    YUTORI_NAVIGATOR = "yutori-navigator"

    @classmethod
    def parse(cls, value: str) -> Engine:
        text = value.strip()
        for engine in cls:
            if text == engine.value or text.lower() == engine.sdk_name:
                return engine
        raise ValueError(value)

    @property
    def sdk_name(self) -> str:
        # The SDK's RunEngine member names: skyvern_v1, openai_cua, ...
        return {
            Engine.SKYVERN_V1: "skyvern_v1",
            Engine.SKYVERN_V2: "skyvern_v2",
            Engine.SKYVERN_V3: "skyvern_v3",
        }.get(self, self.value.replace("-", "_"))

    @property
    def run_type(self) -> RunType:
        return {
            Engine.SKYVERN_V1: RunType.TASK_V1,
            Engine.SKYVERN_V2: RunType.TASK_V2,
            Engine.OPENAI_CUA: RunType.OPENAI_CUA,
            Engine.ANTHROPIC_CUA: RunType.ANTHROPIC_CUA,
            Engine.UI_TARS: RunType.UI_TARS,
        }.get(self, RunType.TASK_V2)

    @property
    def is_supported(self) -> bool:
        """Engines this code can execute; the others are refused at submission. A
        computer-use engine also needs its provider configured (checked at submission)."""
        return self in SUPPORTED_ENGINES

    @property
    def is_cua(self) -> bool:
        """Screenshot-driven: the model sees pixels and acts at coordinates."""
        return self in CUA_ENGINES


CUA_ENGINES = frozenset({Engine.OPENAI_CUA, Engine.ANTHROPIC_CUA, Engine.UI_TARS})
SUPPORTED_ENGINES = frozenset({Engine.SKYVERN_V1, Engine.SKYVERN_V2, *CUA_ENGINES})


class ArtifactType(StrEnum):
    RECORDING = "recording"
    SCREENSHOT_LLM = "screenshot_llm"
    SCREENSHOT_ACTION = "screenshot_action"
    SCREENSHOT_FINAL = "screenshot_final"
    HTML_SCRAPE = "html_scrape"
    HTML_ACTION = "html_action"
    LLM_PROMPT = "llm_prompt"
    LLM_REQUEST = "llm_request"
    LLM_RESPONSE = "llm_response"
    LLM_RESPONSE_PARSED = "llm_response_parsed"
    VISIBLE_ELEMENTS_TREE_IN_PROMPT = "visible_elements_tree_in_prompt"
    TRACE = "trace"
    HAR = "har"
    BROWSER_CONSOLE_LOG = "browser_console_log"
    SCRIPT_FILE = "script_file"
    DOWNLOAD = "download"
    PDF = "pdf"

    @property
    def is_screenshot(self) -> bool:
        return self.value.startswith("screenshot_")


class ActionType(StrEnum):
    """Skyvern's action vocabulary, as the timeline reports it."""

    CLICK = "click"
    INPUT_TEXT = "input_text"
    UPLOAD_FILE = "upload_file"
    DOWNLOAD_FILE = "download_file"
    SELECT_OPTION = "select_option"
    CHECKBOX = "checkbox"
    WAIT = "wait"
    HOVER = "hover"
    NULL_ACTION = "null_action"
    SOLVE_CAPTCHA = "solve_captcha"
    TERMINATE = "terminate"
    COMPLETE = "complete"
    RELOAD_PAGE = "reload_page"
    CLOSE_PAGE = "close_page"
    NEW_TAB = "new_tab"
    SWITCH_TAB = "switch_tab"
    EXTRACT = "extract"
    VERIFICATION_CODE = "verification_code"
    GOTO_URL = "goto_url"
    GO_BACK = "go_back"
    GO_FORWARD = "go_forward"
    SCROLL = "scroll"
    KEYPRESS = "keypress"
    # Pointer actions of the screenshot-driven engines.
    MOVE = "move"
    DRAG = "drag"
    LEFT_MOUSE = "left_mouse"


class ActionStatus(StrEnum):
    PENDING = "pending"
    SKIPPED = "skipped"
    FAILED = "failed"
    COMPLETED = "completed"


class StepStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    # Its executor stopped (a crash, a killed server) before the step finished; such a step
    # does not count toward max_steps.
    INTERRUPTED = "interrupted"


class WebhookStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
