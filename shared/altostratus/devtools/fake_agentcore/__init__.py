"""A local fake of the Amazon Bedrock AgentCore Browser data plane (SigV4 checked), over Debian Chromium."""

from altostratus.devtools.fake_agentcore.server import DEFAULT_BROWSER, FakeAgentCore, FakeBrowserSession
from altostratus.devtools.fake_agentcore.sigv4 import FakeCredentials, SignatureError, SigV4Verifier

__all__ = [
    "DEFAULT_BROWSER",
    "FakeAgentCore",
    "FakeBrowserSession",
    "FakeCredentials",
    "SigV4Verifier",
    "SignatureError",
]
