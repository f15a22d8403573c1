"""The fake Messages server the tests use; it lives in the package (`alto demo` uses it too)."""

from altostratus.devtools.fake_anthropic.server import *  # noqa: F403
