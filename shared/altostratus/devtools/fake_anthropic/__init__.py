"""A fake Anthropic Messages API on 127.0.0.1 that plays the model from a scripted policy.

Used by the tests and by `alto demo` when no ANTHROPIC_API_KEY is set; see `server.py`.
"""

from altostratus.devtools.fake_anthropic.server import (
    FakeAnthropicServer,
    HttpError,
    MessagesRequest,
    Reply,
    Text,
    ToolUse,
)

__all__ = ["FakeAnthropicServer", "HttpError", "MessagesRequest", "Reply", "Text", "ToolUse"]
