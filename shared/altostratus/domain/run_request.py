"""What a user asks for: the run_task request, validated field by field.

Every optional field accepts an explicit JSON null (the SDK's high-level client sends one for
every argument it was not given) and unknown fields are ignored, as Skyvern's server does.
Error messages name the rule that failed in words a person understands; the API layer adds
the field's location.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from altostratus.domain.enums import Engine
from altostratus.domain.redaction import redact_headers, redact_url, url_secrets

DEFAULT_ENGINE = Engine.SKYVERN_V2
MAX_SCREENSHOT_SCROLLS = 1000
DEFAULT_MAX_STEPS = {Engine.SKYVERN_V1: 10, Engine.SKYVERN_V2: 25}
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Fields that may carry a credential: URLs (a password, a token in the query) and header maps.
_URL_FIELDS = ("url", "webhook_url", "totp_url", "browser_address")
_HEADER_FIELDS = ("extra_http_headers", "cdp_connect_headers")


def _error(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def check_http_url(value: str, *, field: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in schemes:
        allowed = " or ".join(f"{s}://" for s in schemes)
        raise _error("url_scheme", f"{field} must be an absolute {allowed} address, got {text[:200]!r}")
    if not parts.hostname:
        raise _error("url_host", f"{field} must include a host name, got {text[:200]!r}")
    return text


class GeoTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    country: str = Field(min_length=2)
    subdivision: str | None = None
    city: str | None = None


class ProxyUrl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_http_url(value, field="proxy_location.url", schemes=("http", "https", "socks5"))


ProxyLocation = str | ProxyUrl | GeoTarget


class ModelChoice(BaseModel):
    model_config = ConfigDict(extra="allow")
    model_name: str | None = None


class RunTaskRequest(BaseModel):
    """`POST /v1/run/tasks` body."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    prompt: str = Field(description="The goal, in natural language.")
    url: str | None = Field(default=None, description="Where the browser starts (http or https).")
    engine: Engine = Field(default=DEFAULT_ENGINE, description="skyvern-1.0 or skyvern-2.0 (default).")
    title: str | None = None
    proxy_location: ProxyLocation | None = None
    data_extraction_schema: dict[str, Any] | list[Any] | str | None = Field(
        default=None, description="JSON Schema the output must validate against."
    )
    error_code_mapping: dict[str, str | None] | None = None
    max_steps: Annotated[int, Field(ge=1)] | None = None
    webhook_url: str | None = None
    totp_identifier: str | None = None
    totp_url: str | None = None
    browser_session_id: str | None = None
    model: ModelChoice | None = None
    extra_http_headers: dict[str, str | None] | None = None
    cdp_connect_headers: dict[str, str | None] | None = None
    publish_workflow: bool | None = None
    include_action_history_in_verification: bool | None = None
    max_screenshot_scrolls: int | None = None
    browser_address: str | None = None
    run_with: Literal["agent", "code"] | None = None

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, value: str) -> str:
        if not value.strip():
            raise _error("empty_prompt", "prompt must not be empty: describe what the agent should do")
        return value

    @field_validator("url", "webhook_url", "totp_url")
    @classmethod
    def _http_url(cls, value: str | None, info: Any) -> str | None:
        if value is None:
            return None
        return check_http_url(value, field=info.field_name)

    @field_validator("browser_address")
    @classmethod
    def _cdp_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return check_http_url(value, field="browser_address", schemes=("http", "https", "ws", "wss"))

    @field_validator("engine", mode="before")
    @classmethod
    def _engine(cls, value: Any) -> Any:
        if value is None:
            return DEFAULT_ENGINE
        if isinstance(value, str):
            try:
                return Engine.parse(value)
            except ValueError:
                names = ", ".join(e.value for e in Engine)
                raise _error("unknown_engine", f"engine must be one of {names}; got {value!r}") from None
        return value

    @field_validator("max_screenshot_scrolls")
    @classmethod
    def _clamp_scrolls(cls, value: int | None) -> int | None:
        if value is None:
            return None
        return min(max(value, 0), MAX_SCREENSHOT_SCROLLS)

    @field_validator("extra_http_headers", "cdp_connect_headers", mode="before")
    @classmethod
    def _headers(cls, value: Any, info: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _error("headers_type", f"{info.field_name} must be an object of header names to strings")
        for name, header_value in value.items():
            if not _HEADER_NAME.match(str(name)):
                raise _error("header_name", f"{info.field_name}: {name!r} is not a valid HTTP header name")
            if header_value is not None and not isinstance(header_value, str):
                kind = type(header_value).__name__
                raise _error(
                    "header_value", f"{info.field_name}: the value of {name!r} must be a string, not {kind}"
                )
            if isinstance(header_value, str) and ("\r" in header_value or "\n" in header_value):
                raise _error(
                    "header_value", f"{info.field_name}: the value of {name!r} contains a line break"
                )
        return value

    @field_validator("error_code_mapping")
    @classmethod
    def _codes(cls, value: dict[str, str | None] | None) -> dict[str, str | None] | None:
        if value is None:
            return None
        for code in value:
            if not code.strip():
                raise _error("error_code", "error_code_mapping keys must be non-empty error codes")
        return value

    @field_validator("data_extraction_schema")
    @classmethod
    def _schema(
        cls, value: dict[str, Any] | list[Any] | str | None
    ) -> dict[str, Any] | list[Any] | str | None:
        if value is None:
            return None
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                parsed = json.loads(value)
            except ValueError:
                return value  # a plain-language description of the wanted output
            if not isinstance(parsed, dict | list):
                return value
            value = parsed
        for schema in value if isinstance(value, list) else [value]:
            check_json_schema(schema)
        return value

    # -- derived, used by the run's creation and by the echo in responses --

    @property
    def effective_max_steps(self) -> int:
        return self.max_steps or DEFAULT_MAX_STEPS.get(self.engine, 25)

    def redacted(self) -> dict[str, Any]:
        """The whole request as JSON with every credential hidden (URL passwords and credential
        query values, every header value, a proxy's password): what may be stored in clear."""
        data = self.model_dump(mode="json")
        for name in _URL_FIELDS:
            if data.get(name):
                data[name] = redact_url(data[name])
        for name in _HEADER_FIELDS:
            if data.get(name):
                data[name] = redact_headers(data[name])
        proxy = data.get("proxy_location")
        if isinstance(proxy, dict) and proxy.get("url"):
            proxy["url"] = redact_url(proxy["url"])
        return data

    def secret_parts(self) -> dict[str, Any]:
        """The fields `redacted` hides, with their real values (to be sealed for the executor)."""
        data, shown = self.model_dump(mode="json"), self.redacted()
        return {name: value for name, value in data.items() if shown.get(name) != value}

    @classmethod
    def from_stored(cls, redacted: dict[str, Any], secret_parts: dict[str, Any] | None) -> RunTaskRequest:
        """The request as submitted, from its stored form and its unsealed secret parts."""
        return cls.model_validate({**redacted, **(secret_parts or {})})

    def secret_values(self) -> list[str]:
        """Every credential string in the request, to hide wherever it shows up later (a page
        echoing its URL, a header reflected into the HTML)."""
        values: list[str] = []
        for name in _URL_FIELDS:
            url = getattr(self, name)
            if url:
                values += url_secrets(url)
        if isinstance(self.proxy_location, ProxyUrl):
            values += url_secrets(self.proxy_location.url)
        for name in _HEADER_FIELDS:
            values += [v for v in (getattr(self, name) or {}).values() if v]
        return values

    def echo(self) -> dict[str, Any]:
        """The request as responses and published events show it: explicit values only, with
        every credential hidden as in `redacted`."""
        data = {k: v for k, v in self.redacted().items() if v is not None}
        data["engine"] = self.engine.value
        return data


def check_json_schema(schema: Any) -> None:
    if not isinstance(schema, dict):
        raise _error("json_schema", "data_extraction_schema must be a JSON Schema object (or a list of them)")
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise _error(
            "json_schema", f"data_extraction_schema is not a valid JSON Schema at {where}: {exc.message}"
        ) from None
