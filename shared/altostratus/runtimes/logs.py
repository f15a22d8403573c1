"""Where the package's log lines go: one request line per API call (`altostratus.requests`),
one line per run lifecycle event (`altostratus.runs`), and the package's warnings and errors.

In a Lambda function they go through the function's Powertools Logger (JSON with its Lambda
context and keys); `alto serve` writes them to stderr as JSON (the same Powertools formatter)
or as text, leaving stdout to its banner.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal, TextIO

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

PACKAGE = "altostratus"
LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")
# Attributes every LogRecord has; anything else on a record was passed as `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def route_package_logs(logger: Logger) -> None:
    """The package's loggers write through `logger`: its handler, formatter, keys and level."""
    logging.getLogger(PACKAGE)  # registered, so the copy below finds it
    copy_config_to_registered_loggers(source_logger=logger, include={PACKAGE})


class TextFormatter(logging.Formatter):
    """`time LEVEL logger message key=value ...`: the line's fields after its sentence."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD and v is not None}
        if fields:
            line += "  " + " ".join(f"{k}={_text(v)}" for k, v in fields.items())
        return line


def _text(value: Any) -> str:
    text = str(value)
    return repr(text) if (" " in text or not text) else text


def configure_serve_logs(fmt: LogFormat = "text", level: str = "info", stream: TextIO | None = None) -> None:
    """For `alto serve`: the package's log lines on stderr, in `fmt`, from `level` up."""
    out = stream or sys.stderr
    if fmt == "json":
        logger = Logger(
            service="altostratus-serve", level=level.upper(), logger_handler=logging.StreamHandler(out)
        )
        route_package_logs(logger)
        return
    handler = logging.StreamHandler(out)
    handler.setFormatter(TextFormatter())
    package = logging.getLogger(PACKAGE)
    package.handlers = [handler]
    package.setLevel(level.upper())
    package.propagate = False
