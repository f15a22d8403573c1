"""The scripted model's intents in each OpenAI-shaped protocol, written from the specs
(independently of the engine's decoders)."""

from __future__ import annotations

from typing import Any

from altostratus.devtools import cua_script as cs

SCROLL_STEP = 100


def computer_action(script: cs.Script, turn: int, intent: cs.Intent) -> dict[str, Any] | None:
    """A Responses API computer action in screenshot pixels (= the display), or None."""
    if isinstance(intent, cs.Click):
        x, y = script.point(turn, intent.target)
        if intent.count == 2:
            return {"type": "double_click", "x": round(x), "y": round(y)}
        return {"type": "click", "button": intent.button, "x": round(x), "y": round(y)}
    if isinstance(intent, cs.Type):
        return {"type": "type", "text": intent.text}
    if isinstance(intent, cs.Key):
        return {"type": "keypress", "keys": cs.keys_for(intent.keys, cs.OPENAI_KEYS)}
    if isinstance(intent, cs.Scroll):
        x, y = script.point(turn, intent.target)
        return {"type": "scroll", "x": round(x), "y": round(y), "scroll_x": 0, "scroll_y": intent.dy}
    if isinstance(intent, cs.Drag):
        sx, sy = script.point(turn, intent.source)
        tx, ty = script.point(turn, intent.target)
        return {
            "type": "drag",
            "path": [
                {"x": round(sx), "y": round(sy)},
                {"x": round((sx + tx) / 2), "y": round((sy + ty) / 2)},
                {"x": round(tx), "y": round(ty)},
            ],
        }
    return None


def ui_tars_answer(script: cs.Script, turn: int, width: int, height: int, mode: str) -> str:
    """`Thought: …\\nAction: …` with points in the model's convention for a `width`x`height` image."""

    def pt(target: str) -> str:
        x, y = script.point(turn, target)
        if mode == "doubao":
            return f"<point>{round(x / width * 1000)} {round(y / height * 1000)}</point>"
        h2, w2 = cs.smart_resize(height, width)
        return f"<point>{round(x / width * w2)} {round(y / height * h2)}</point>"

    intent = script.intent(turn)
    if isinstance(intent, cs.Click):
        name = {1: "click", 2: "left_double"}.get(intent.count, "click")
        if intent.button == "right":
            name = "right_single"
        action = f"{name}(point='{pt(intent.target)}')"
    elif isinstance(intent, cs.Type):
        escaped = intent.text.replace("\\", "\\\\").replace("'", "\\'")
        action = f"type(content='{escaped}')"
    elif isinstance(intent, cs.Key):
        action = f"hotkey(key='{' '.join(cs.keys_for(intent.keys, cs.UI_TARS_KEYS))}')"
    elif isinstance(intent, cs.Scroll):
        # A UI-TARS scroll has no amount: the engine moves half a screen per scroll.
        direction = "down" if intent.dy > 0 else "up"
        times = max(1, round(abs(intent.dy) / (height / 2)))
        action = "\n\n".join([f"scroll(point='{pt(intent.target)}', direction='{direction}')"] * times)
    elif isinstance(intent, cs.Drag):
        action = f"drag(start_point='{pt(intent.source)}', end_point='{pt(intent.target)}')"
    elif isinstance(intent, cs.Done):
        action = f"finished(content='{intent.answer}')"
    elif isinstance(intent, cs.Ask):
        action = "call_user()"
    else:
        action = f"finished(content='{intent.reason}')"
    return f"Thought: Next step of the task.\nAction: {action}"
