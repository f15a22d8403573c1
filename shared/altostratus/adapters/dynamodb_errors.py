"""How the DynamoDB adapters read the driver's errors and report them as store errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from altostratus.ports.errors import StoreUnavailableError

DRIVER_ERRORS = (ClientError, BotoCoreError)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def refused(exc: ClientError) -> bool:
    """A write's condition did not hold (the item exists, or it changed since it was read)."""
    return error_code(exc) == "ConditionalCheckFailedException"


def canceled(exc: ClientError) -> bool:
    """A transaction was canceled; its reasons say which of its items refused."""
    return error_code(exc) == "TransactionCanceledException"


def unavailable(exc: Exception) -> StoreUnavailableError:
    # Only the exception's type and the service's error code: the driver's message can carry
    # table names, keys and request ids, and this error travels up to whoever handles it.
    code = error_code(exc) if isinstance(exc, ClientError) else ""
    detail = f"{type(exc).__name__} ({code})" if code else type(exc).__name__
    return StoreUnavailableError(f"DynamoDB request failed: {detail}")


def call(fn: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    """One driver call whose failure is the store being unavailable."""
    try:
        result: dict[str, Any] = fn(**kwargs)
    except DRIVER_ERRORS as exc:
        raise unavailable(exc) from exc
    return result
