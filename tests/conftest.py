"""Test-wide settings: no real AWS, ever."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

# One event loop, one Chromium and the fixture site for the whole session.
pytest_plugins = ["tests.support.browser_fixtures"]

# Never let a test reach a real AWS account, whatever the developer's shell has configured.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
# botocore 1.44 sends DynamoDB Streams calls to an account-scoped host moto does not match.
os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "AltostratusTests")
os.environ.setdefault("POWERTOOLS_DEV", "false")


@pytest.fixture(autouse=True)
def _package_logger_as_it_was() -> Iterator[None]:
    """A Lambda entry point loaded by one test routes the package's loggers through its own
    Powertools Logger (and stops them propagating); the next test starts from the default."""
    package = logging.getLogger("altostratus")
    handlers, level, propagate = list(package.handlers), package.level, package.propagate
    yield
    package.handlers, package.level, package.propagate = handlers, level, propagate
