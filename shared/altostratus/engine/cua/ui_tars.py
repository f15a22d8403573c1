# ruff: noqa: E501 - the prompt template is the model's own, verbatim
"""ui-tars: an OpenAI-compatible chat endpoint with the official prompt template.

The conversation: the template as the first user message (a string), every assistant answer,
and only the newest `ui_tars_history_images` screenshots as image-only user messages. Answers
are `Thought: …\\nAction: …`; points are relative 0-1000 ("doubao") or absolute on the
smart-resized screenshot ("qwen25vl"), as the setting tied to the model says.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

from altostratus.domain.enums import ActionType
from altostratus.engine.cua import keys
from altostratus.engine.cua.common import failed, in_display, pixel
from altostratus.engine.cua.model import CuaModel, Decision, Exchange, Feedback, Planned
from altostratus.engine.cua.task import CuaTask, data_url, strip_images
from altostratus.ports.computer import (
    PixelClick,
    PixelDrag,
    PixelKeys,
    PixelScroll,
    PixelType,
    PixelWait,
    Point,
)
from altostratus.ports.llm import LLMUsage
from altostratus.ports.openai_api import ChatClient

PROMPT = """You are a GUI agent. You are given a task and your action history, with screenshots. You need to perform the next action to complete the task.
## Output Format
```
Thought: ...
Action: ...
```
## Action Space
click(point='<point>x1 y1</point>')
left_double(point='<point>x1 y1</point>')
right_single(point='<point>x1 y1</point>')
drag(start_point='<point>x1 y1</point>', end_point='<point>x2 y2</point>')
hotkey(key='ctrl c') # Split keys with a space and use lowercase. Also, do not use more than 3 keys in one hotkey action.
type(content='xxx') # Use escape characters \\\\', \\\\\\", and \\\\n in content part to ensure we can parse the content in normal python string format. If you want to submit your input, use \\\\n at the end of content.
scroll(point='<point>x1 y1</point>', direction='down or up or right or left') # Show more information on the `direction` side.
wait() #Sleep for 5s and take a screenshot to check for any changes.
finished(content='xxx') # Use escape characters \\\\', \\\\", and \\\\n in content part to ensure we can parse the content in normal python string format.
call_user() # Submit the task and call the user when the task is unsolvable, or when you need the user's help.
## Note
- Use {language} in `Thought` part.
- Write a small plan and finally summarize your next action (with its target element) in one sentence in `Thought` part.
## User Instruction
{instruction}
"""
WAIT_S = 5.0
MAX_TOKENS = 400
THOUGHT = re.compile(r"(?:Thought|Reflection):\s*(.+?)(?=\s*Action:|$)", re.DOTALL)
POINT = re.compile(r"<point>\s*(-?[\d.]+)[\s,]+(-?[\d.]+)\s*</point>")
BOX = re.compile(
    r"<\|box_start\|>\s*\(?\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)(?:\s*,\s*(-?[\d.]+)\s*,\s*(-?[\d.]+))?\s*\)?\s*<\|box_end\|>"
)


def smart_resize(
    height: int,
    width: int,
    factor: int = 28,
    min_pixels: int = 100 * 28 * 28,
    max_pixels: int = 16384 * 28 * 28,
) -> tuple[int, int]:
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar, w_bar = math.floor(height / beta / factor) * factor, math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar, w_bar = math.ceil(height * beta / factor) * factor, math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def parse(text: str) -> tuple[str | None, list[tuple[str, dict[str, Any]]]]:
    """The thought and the calls (name, keyword arguments) of an answer; ValueError if none."""
    thought_match = THOUGHT.search(text)
    thought = thought_match.group(1).strip() if thought_match else None
    if "Action:" not in text:
        raise ValueError("no Action")
    body = text.split("Action:", 1)[1].strip()
    body = POINT.sub(lambda m: f"({m.group(1)},{m.group(2)})", body)
    body = BOX.sub(
        lambda m: (
            f"({m.group(1)},{m.group(2)})"
            if m.group(3) is None
            else f"({(float(m.group(1)) + float(m.group(3))) / 2},{(float(m.group(2)) + float(m.group(4))) / 2})"
        ),
        body,
    )
    calls: list[tuple[str, dict[str, Any]]] = []
    for part in re.split(r"\)\s*\n\s*\n", body):
        source = part.strip()
        if not source:
            continue
        if not source.endswith(")"):
            source += ")"
        try:
            node = ast.parse(source, mode="eval").body
        except SyntaxError as exc:
            raise ValueError(f"unparseable action {source[:80]!r}") from exc
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            raise ValueError(f"not a call: {source[:80]!r}")
        args: dict[str, Any] = {}
        for kw in node.keywords:
            value: Any = ast.literal_eval(kw.value)
            if isinstance(value, str):
                inner = re.fullmatch(r"\(\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*\)", value.strip())
                if inner:
                    value = (float(inner.group(1)), float(inner.group(2)))
            args[(kw.arg or "").replace("start_box", "start_point").replace("end_box", "end_point")] = value
        calls.append((node.func.id, args))
    if not calls:
        raise ValueError("no action")
    return thought, calls


class UiTars(CuaModel):
    def __init__(self, client: ChatClient, task: CuaTask) -> None:
        self.client = client
        self.task = task

    def to_viewport(self, point: Any) -> tuple[float, float] | str:
        task = self.task
        if not (isinstance(point, tuple | list) and len(point) == 2):
            return "the action needs a point."
        x, y = float(point[0]), float(point[1])
        if task.settings.ui_tars_coordinates == "qwen25vl":
            h2, w2 = smart_resize(task.height, task.width)
            vx, vy = x / w2 * task.width, y / h2 * task.height
        else:
            vx, vy = x / 1000 * task.width, y / 1000 * task.height
        return in_display(vx, vy, task.width, task.height) or (vx, vy)

    async def decide(self, state: dict[str, Any], feedback: Feedback) -> Decision:
        task = self.task
        history: list[dict[str, Any]] = state.setdefault("messages", [])
        if not history:
            instruction = task.prompt()
            history.append(
                {
                    "role": "user",
                    "content": PROMPT.format(
                        language=task.settings.ui_tars_language, instruction=instruction
                    ),
                }
            )
        content: list[dict[str, Any]] = [
            {"type": "image_url", "image_url": {"url": data_url(feedback.screenshot)}}
        ]
        notes = [r.summary for r in feedback.results if not r.ok] + list(feedback.notes)
        if notes:
            content.insert(0, {"type": "text", "text": "\n".join(notes)})
        history.append({"role": "user", "content": content})
        keep = task.settings.ui_tars_history_images
        images = [
            i
            for i, m in enumerate(history)
            if isinstance(m["content"], list) and any(p.get("type") == "image_url" for p in m["content"])
        ]
        for index in images[:-keep] if keep > 0 else images:
            texts = [p for p in history[index]["content"] if p.get("type") == "text"]
            history[index] = {"role": "user", "content": texts} if texts else {}
        history[:] = [m for m in history if m]
        body = {"model": task.model, "messages": history, "temperature": 0.0, "max_tokens": MAX_TOKENS}
        reply = await self.client.complete(body)
        answer = str(((reply.body.get("choices") or [{}])[0].get("message") or {}).get("content") or "")
        history.append({"role": "assistant", "content": answer})
        usage = reply.body.get("usage") or {}
        decision = Decision(
            usage=LLMUsage(
                input_tokens=int(usage.get("prompt_tokens") or 0),
                output_tokens=int(usage.get("completion_tokens") or 0),
                calls=1,
            ),
            latency_ms=reply.latency_ms,
            exchanges=[Exchange(request=strip_images(body), response=strip_images(reply.body))],
        )
        try:
            thought, calls = parse(answer)
        except ValueError as exc:
            decision.reasoning = answer[:2000] or None
            state.setdefault("notes", [])
            decision.question = None
            decision.actions = []
            history.append(
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "text",
                            "text": f"Your answer could not be read ({exc}). Answer exactly `Thought: …\\nAction: …`.",
                        }
                    ],
                }
            )
            return decision
        decision.reasoning = thought
        turn = len([m for m in history if m["role"] == "assistant"])
        for n, (name, args) in enumerate(calls):
            cid = f"t{turn}-{n}"
            if name == "finished":
                decision.done = str(args.get("content", ""))
            elif name == "call_user":
                decision.terminate = "The model asked for the user's help: " + (thought or "no reason given")
            else:
                decision.actions.append(self._action(cid, name, args))
        return decision

    def _action(self, cid: str, name: str, args: dict[str, Any]) -> Planned:
        task = self.task
        shown = {k: list(v) if isinstance(v, tuple) else v for k, v in args.items()}
        if name in ("click", "left_single", "left_double", "right_single"):
            at = self.to_viewport(args.get("point", args.get("start_point")))
            if isinstance(at, str):
                return failed(cid, name, ActionType.CLICK, shown, f"{name}: {at}")
            button = "right" if name == "right_single" else "left"
            return pixel(
                cid,
                name,
                ActionType.CLICK,
                shown,
                PixelClick(x=at[0], y=at[1], button=button, count=2 if name == "left_double" else 1),
            )
        if name in ("drag", "select"):
            start, end = self.to_viewport(args.get("start_point")), self.to_viewport(args.get("end_point"))
            if isinstance(start, str) or isinstance(end, str):
                return failed(
                    cid, name, ActionType.DRAG, shown, f"drag: {start if isinstance(start, str) else end}"
                )
            return pixel(
                cid,
                name,
                ActionType.DRAG,
                shown,
                PixelDrag(path=(Point(x=start[0], y=start[1]), Point(x=end[0], y=end[1]))),
            )
        if name == "type":
            text = str(args.get("content", ""))
            submit = text.endswith("\n")
            planned = pixel(cid, name, ActionType.INPUT_TEXT, shown, PixelType(text=text.rstrip("\n")))
            if submit:
                # Typing then Enter: the trailing newline means "submit".
                return planned.model_copy(update={"action": PixelType(text=text.rstrip("\n") + "\n")})
            return planned
        if name == "hotkey":
            try:
                chord = keys.chord(str(args.get("key", "")).split())
            except ValueError as exc:
                return failed(cid, name, ActionType.KEYPRESS, shown, f"{exc}.")
            return pixel(cid, name, ActionType.KEYPRESS, shown, PixelKeys(keys=chord))
        if name == "scroll":
            point = args.get("point", args.get("start_point"))
            at = self.to_viewport(point) if point is not None else (task.width / 2, task.height / 2)
            if isinstance(at, str):
                return failed(cid, name, ActionType.SCROLL, shown, f"scroll: {at}")
            half_w, half_h = task.width / 2, task.height / 2
            dx, dy = {
                "up": (0, -half_h),
                "down": (0, half_h),
                "left": (-half_w, 0),
                "right": (half_w, 0),
            }.get(str(args.get("direction", "down")).strip(), (0, half_h))
            return pixel(cid, name, ActionType.SCROLL, shown, PixelScroll(x=at[0], y=at[1], dx=dx, dy=dy))
        if name == "wait":
            return pixel(cid, name, ActionType.WAIT, shown, PixelWait(seconds=WAIT_S))
        return failed(cid, name, ActionType.NULL_ACTION, shown, f"The action {name!r} is not supported.")
