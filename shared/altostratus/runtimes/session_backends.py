"""The AgentCore Browser session backend, as the settings configure it (`ALTO_SESSION_BACKEND=agentcore`)."""

from __future__ import annotations

from altostratus.ports.session_browsers import SessionBrowsers
from altostratus.runtimes.settings import InvalidSettingsError, Settings


def agentcore_sessions(settings: Settings) -> SessionBrowsers:
    """Sessions in AgentCore Browser, signed with the environment's AWS credentials."""
    import boto3

    from altostratus.adapters.agentcore_sessions import AgentCoreSessions

    region_given = settings.agentcore_region
    session = boto3.Session(region_name=region_given) if region_given else boto3.Session()
    region = region_given or session.region_name
    if not region:
        raise InvalidSettingsError(
            "ALTO_SESSION_BACKEND=agentcore: set ALTO_AGENTCORE_REGION (or AWS_REGION) to the region "
            "of the AgentCore browser"
        )
    client = session.client(
        "bedrock-agentcore", region_name=region, endpoint_url=settings.agentcore_endpoint_url
    )
    return AgentCoreSessions(
        client,
        credentials=session.get_credentials,
        region=region,
        browser_identifier=settings.agentcore_browser_identifier,
        session_timeout_seconds=settings.agentcore_session_timeout_seconds,
    )
