"""Where browser sessions keep their browsers, as the settings choose (`ALTO_SESSION_BACKEND`)."""

from __future__ import annotations

from altostratus.ports.session_browsers import SessionBrowsers
from altostratus.runtimes.settings import InvalidSettingsError, Settings


def session_browsers(settings: Settings, *, embedded: bool) -> SessionBrowsers | None:
    """The configured backend; unset, embedded keeps a Chromium per session and AWS has none
    here (its default is composed with the AWS stores)."""
    backend = settings.session_backend or ("embedded" if embedded else None)
    if backend == "agentcore":
        return agentcore_sessions(settings)
    if backend == "embedded":
        if not embedded:
            raise InvalidSettingsError(
                "ALTO_SESSION_BACKEND=embedded needs `alto serve`: on AWS a session's browser cannot "
                "outlive the function that started it (use agentcore)"
            )
        # Imported here: the zip functions' layer has no browser code.
        from altostratus.adapters.browser.config import LaunchConfig
        from altostratus.adapters.browser.live_sessions import LiveChromiumSessions

        # Started lazily: no Chromium runs until a session is used.
        return LiveChromiumSessions(LaunchConfig(executable_path=settings.chromium_path))
    return None


def agentcore_sessions(settings: Settings) -> SessionBrowsers:
    import boto3

    from altostratus.adapters.agentcore_sessions import AgentCoreSessions

    session = (
        boto3.Session(region_name=settings.agentcore_region) if settings.agentcore_region else boto3.Session()
    )
    region = settings.agentcore_region or session.region_name
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
