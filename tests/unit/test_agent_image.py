"""Static checks of the agent_step container image (no Docker here to build it)."""

from __future__ import annotations

import re
import tomllib

from tests.support.imports import ROOT, dependency_closure, external_imports, missing_from

DOCKERFILE = (ROOT / "functions" / "agent_step" / "Dockerfile").read_text()
HANDLER = ROOT / "functions" / "agent_step" / "app.py"


def test_the_image_installs_every_package_the_handler_imports() -> None:
    # Lazy imports count too: the handler reaches the browser through one.
    imported = external_imports(HANDLER, lazy=True)
    closure = dependency_closure(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    )
    missing = missing_from(imported, closure)
    assert not missing, f"imported by the agent_step handler but not installed by the image: {missing}"
    assert {"aws_lambda_powertools", "playwright", "anthropic", "pydantic"} <= imported


def test_the_dockerfile_builds_the_package_with_chromium_from_the_lambda_base_image() -> None:
    assert re.search(r"^FROM public\.ecr\.aws/lambda/python:3\.1[1-3]\b", DOCKERFILE, re.M)
    assert re.search(r"^COPY pyproject\.toml .*/opt/altostratus/", DOCKERFILE, re.M)
    assert re.search(r"^COPY shared /opt/altostratus/shared$", DOCKERFILE, re.M)
    assert "pip install --no-cache-dir /opt/altostratus" in DOCKERFILE
    assert "playwright install" in DOCKERFILE and "chromium" in DOCKERFILE
    assert re.search(r"^COPY functions/agent_step/app\.py \$\{LAMBDA_TASK_ROOT\}/$", DOCKERFILE, re.M)
    assert re.search(r'^CMD \["app\.handler"\]$', DOCKERFILE, re.M)
    assert "ALTO_CHROMIUM_PATH=" in DOCKERFILE and "HOME=/tmp" in DOCKERFILE


def test_the_template_builds_the_image_from_this_dockerfile() -> None:
    template = (ROOT / "template.yaml").read_text()
    assert "Dockerfile: functions/agent_step/Dockerfile" in template
    assert "DockerContext: ." in template
