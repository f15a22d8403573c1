"""A scripted computer-use model for the fake Messages server (the computer tool).

Turn n of the conversation plays intent n of the script, encoded the way the computer tool
writes actions: screenshot-pixel coordinates (the declared display equals the screenshot, so
no scaling), xdotool key names, scroll in wheel clicks of 100 px. Requests without a computer
tool (extraction, error classification) go to `others`.
"""

from __future__ import annotations

from collections.abc import Callable

from altostratus.devtools import cua_script as cs
from altostratus.devtools.fake_anthropic.policies import Page, agent_policy
from altostratus.devtools.fake_anthropic.server import HttpError, MessagesRequest, Reply, Text, ToolUse

SCROLL_CLICK_PX = 100


def _computer(action: str, **params: object) -> ToolUse:
    return ToolUse("computer", {"action": action, **params})


def encode(script: cs.Script, turn: int) -> Reply:
    intent = script.intent(turn)
    if isinstance(intent, cs.Click):
        x, y = script.point(turn, intent.target)
        names = {1: f"{intent.button}_click", 2: "double_click", 3: "triple_click"}
        return Reply.of(
            Text(f"Clicking {intent.target}."),
            _computer(names[intent.count], coordinate=[round(x), round(y)]),
        )
    if isinstance(intent, cs.Type):
        return Reply.of(Text("Typing."), _computer("type", text=intent.text))
    if isinstance(intent, cs.Key):
        return Reply.of(
            Text("Pressing keys."), _computer("key", text="+".join(cs.keys_for(intent.keys, cs.XDOTOOL_KEYS)))
        )
    if isinstance(intent, cs.Scroll):
        x, y = script.point(turn, intent.target)
        clicks = abs(intent.dy) // SCROLL_CLICK_PX
        direction = "down" if intent.dy > 0 else "up"
        return Reply.of(
            Text("Scrolling."),
            _computer(
                "scroll", coordinate=[round(x), round(y)], scroll_direction=direction, scroll_amount=clicks
            ),
        )
    if isinstance(intent, cs.Drag):
        sx, sy = script.point(turn, intent.source)
        tx, ty = script.point(turn, intent.target)
        return Reply.of(
            Text("Dragging."),
            _computer(
                "left_click_drag", start_coordinate=[round(sx), round(sy)], coordinate=[round(tx), round(ty)]
            ),
        )
    if isinstance(intent, cs.Done):
        return Reply.of(Text("The goal is achieved."), ToolUse("done", {"answer": intent.answer}))
    if isinstance(intent, cs.Ask):
        return Reply.of(Text(intent.question))
    return Reply.of(Text("This cannot be done."), ToolUse("terminate", {"reason": intent.reason}))


def computer_policy(
    script: cs.Script, others: Callable[[MessagesRequest], Reply | HttpError] | None = None
) -> Callable[[MessagesRequest], Reply | HttpError]:
    def policy(request: MessagesRequest) -> Reply | HttpError:
        if "computer" not in request.tool_names:
            if others is None:
                return HttpError(500, "api_error", "this script expects only computer-use calls")
            return others(request)
        script.hear(request.messages)
        stale = script.stale(request.turn, cs.newest_png(request.messages))
        if stale is not None:
            return HttpError(400, "invalid_request_error", stale)
        return encode(script, request.turn)

    return policy


def _no_dom_agent(page: Page) -> HttpError:
    return HttpError(500, "api_error", "a computer-use script got a DOM agent's request")


def with_extraction(
    script: cs.Script, extractor: Callable[[MessagesRequest], Reply]
) -> Callable[[MessagesRequest], Reply | HttpError]:
    """The script for computer-use calls; `extractor` answers the final extraction."""
    return computer_policy(script, agent_policy(_no_dom_agent, extractor=extractor))
