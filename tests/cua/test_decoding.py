"""The engines' decoders against the protocols' documented forms."""

from __future__ import annotations

import pytest

from altostratus.engine.cua import keys
from altostratus.engine.cua.anthropic_cua import tool_version
from altostratus.engine.cua.ui_tars import parse, smart_resize
from altostratus.ports.llm import LLMRequestRejectedError


def test_ui_tars_answers_parse_in_both_point_forms() -> None:
    thought, calls = parse("Thought: open it\nAction: click(point='<point>510 150</point>')")
    assert thought == "open it" and calls == [("click", {"point": (510.0, 150.0)})]
    _, calls = parse("Thought: x\nAction: click(start_box='<|box_start|>(100,200)<|box_end|>')")
    assert calls == [("click", {"start_point": (100.0, 200.0)})]
    _, calls = parse("Thought: x\nAction: type(content='it\\'s done\\n')")
    assert calls == [("type", {"content": "it's done\n"})]
    _, calls = parse("Thought: x\nAction: scroll(point='<point>1 2</point>', direction='down')\n\nwait()")
    assert [c[0] for c in calls] == ["scroll", "wait"]
    with pytest.raises(ValueError):
        parse("I think I should click the button")


def test_smart_resize_matches_the_documented_values() -> None:
    assert smart_resize(720, 1280) == (728, 1288)
    assert smart_resize(800, 1280) == (812, 1288)
    assert smart_resize(1080, 1920) == (1092, 1932)
    assert smart_resize(768, 1024) == (756, 1036)


def test_key_names_of_every_protocol_map_to_playwright() -> None:
    assert keys.chord(["CTRL", "A"]) == ("Control", "A")
    assert keys.chord(["ctrl", "shift", "Page_Down"]) == ("Control", "Shift", "PageDown")
    assert keys.chord(["BackSpace"]) == ("Backspace",)
    assert keys.chord(["KP_Enter"]) == ("Enter",)
    assert keys.chord(["ctrl", "c"]) == ("Control", "c")
    with pytest.raises(ValueError):
        keys.chord(["NoSuchKey"])


def test_the_computer_tool_version_follows_the_model() -> None:
    assert tool_version("claude-sonnet-4-6") == ("computer_20251124", "computer-use-2025-11-24")
    assert tool_version("claude-sonnet-4-5") == ("computer_20250124", "computer-use-2025-01-24")
    with pytest.raises(LLMRequestRejectedError):
        tool_version("claude-opus-5-5")
