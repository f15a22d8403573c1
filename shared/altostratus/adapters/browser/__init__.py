"""The browser layer: Chromium runtime, page perception and actions with effect reports.

Start a `BrowserRuntime`, open a `BrowserSession` per run, then `snapshot()` and `act(...)`;
see `session.py` for the whole API.
"""

from altostratus.adapters.browser.actions import (
    ACTION_TYPES,
    Action,
    Back,
    Check,
    Click,
    CloseTab,
    Forward,
    Hover,
    Navigate,
    Press,
    Scroll,
    Select,
    SwitchTab,
    TypeText,
    Upload,
    Wait,
    action_schema,
    parse_action,
)
from altostratus.adapters.browser.config import (
    LaunchConfig,
    ProxySettings,
    SessionConfig,
    Viewport,
    resolve_proxy,
)
from altostratus.adapters.browser.effects import (
    ActionError,
    DialogInfo,
    DownloadInfo,
    EffectReport,
    PageChange,
)
from altostratus.adapters.browser.errors import (
    BrowserCrashedError,
    BrowserDisconnectedError,
    BrowserError,
    BrowserGoneError,
    LaunchError,
    ProxyLocationNotConfiguredError,
    SessionClosedError,
)
from altostratus.adapters.browser.markdown import PageMarkdown
from altostratus.adapters.browser.perception import Element, SelectorBundle, Snapshot, SnapshotDiff, TabInfo
from altostratus.adapters.browser.runtime import BrowserRuntime
from altostratus.adapters.browser.session import BrowserSession
from altostratus.adapters.browser.state import BrowserState, TabState

__all__ = [
    "ACTION_TYPES",
    "Action",
    "ActionError",
    "Back",
    "BrowserCrashedError",
    "BrowserDisconnectedError",
    "BrowserError",
    "BrowserGoneError",
    "BrowserRuntime",
    "BrowserSession",
    "BrowserState",
    "Check",
    "Click",
    "CloseTab",
    "DialogInfo",
    "DownloadInfo",
    "EffectReport",
    "Element",
    "Forward",
    "Hover",
    "LaunchConfig",
    "LaunchError",
    "Navigate",
    "PageChange",
    "PageMarkdown",
    "Press",
    "ProxyLocationNotConfiguredError",
    "ProxySettings",
    "Scroll",
    "Select",
    "SelectorBundle",
    "SessionClosedError",
    "SessionConfig",
    "Snapshot",
    "SnapshotDiff",
    "SwitchTab",
    "TabInfo",
    "TabState",
    "TypeText",
    "Upload",
    "Viewport",
    "Wait",
    "action_schema",
    "parse_action",
    "resolve_proxy",
]
