"""Scripted model policies for the fake Messages server; they live in the package."""

from altostratus.devtools.fake_anthropic.policies import *  # noqa: F403
