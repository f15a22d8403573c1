"""Secrets as placeholders: the model writes `{{secret:NAME}}`, execution types the value.

Values never enter a prompt, an event or an artifact: tool inputs are recorded as the model
wrote them (placeholders), values are substituted only in the params handed to the browser,
and any text coming back from the page passes through `redact` first.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from altostratus.domain.redaction import REDACTED, redact_url

PLACEHOLDER = re.compile(r"\{\{secret:([A-Za-z0-9_.-]+)\}\}")
# A URL inside text (a snapshot line, page HTML, an effect summary) that could carry a
# password or a credential query value.
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>`]*[@?][^\s\"'<>`]*")


def _encodings(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote_plus(value)}


def placeholder(name: str) -> str:
    return "{{secret:" + name + "}}"


class UnknownSecretError(KeyError):
    """The model used a placeholder for a secret the run does not have."""


# Hidden values shorter than this are not searched for: a header such as `X-Debug: 1` would
# otherwise turn every "1" on a page into ***, and values that short protect nothing anyway.
MIN_HIDDEN_LENGTH = 4


class Secrets:
    """`values`: the run's named secrets, typed through placeholders. `hidden`: credential
    strings that are never typed but must not be shown (replaced by ***)."""

    def __init__(self, values: Mapping[str, str], *, hidden: Iterable[str] = ()) -> None:
        # Empty values cannot be redacted meaningfully and would match everywhere.
        self._values = {k: v for k, v in values.items() if v}
        self._hidden = tuple(hidden)
        forms = {
            (form, placeholder(name)) for name, value in self._values.items() for form in _encodings(value)
        }
        forms |= {
            (form, REDACTED)
            for value in self._hidden
            if len(value) >= MIN_HIDDEN_LENGTH
            for form in _encodings(value)
        }
        # Longest first, so a secret containing another is replaced whole.
        self._forms = sorted(forms, key=lambda pair: -len(pair[0]))

    def with_value(self, name: str, value: str) -> Secrets:
        """These secrets and one more (a one-time code obtained during the run)."""
        return Secrets({**self._values, name: value}, hidden=self._hidden)

    def value(self, name: str) -> str | None:
        """A secret's value, for typing it (never for showing it)."""
        return self._values.get(name)

    @property
    def names(self) -> list[str]:
        return sorted(self._values)

    def describe(self) -> str:
        """The lines the task block shows the model: names only."""
        if not self._values:
            return ""
        lines = [f"- {placeholder(name)}" for name in self.names]
        return (
            "Secret values you can type without seeing them (write the placeholder exactly, "
            "it is replaced when the action runs):\n" + "\n".join(lines)
        )

    def resolve(self, params: Any) -> Any:
        """`params` with every placeholder in its strings replaced by the secret's value."""
        if isinstance(params, str):
            return PLACEHOLDER.sub(self._value_of, params)
        if isinstance(params, dict):
            return {k: self.resolve(v) for k, v in params.items()}
        if isinstance(params, list):
            return [self.resolve(v) for v in params]
        return params

    def redact(self, text: str) -> str:
        """`text` with every secret value (also URL-encoded, as a GET form sends it) replaced by
        its placeholder (hidden values by ***), and the credentials of every URL in it hidden."""
        for form, replacement in self._forms:
            if form in text:
                text = text.replace(form, replacement)
        return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)

    def redact_any(self, data: Any) -> Any:
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, dict):
            return {k: self.redact_any(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.redact_any(v) for v in data]
        return data

    def _value_of(self, match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in self._values:
            raise UnknownSecretError(name)
        return self._values[name]


class ObtainedSecrets:
    """The values runs obtained while a slice ran (their one-time codes), by run id, for what
    records the slice: its trace is redacted when the slice ends, after the engine's own
    `Secrets` are gone, and must hide these too. In memory only; forgotten when the slice is
    over (the slice's runner calls `forget`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_run: dict[str, dict[str, str]] = {}

    def add(self, run_id: str, name: str, value: str) -> None:
        with self._lock:
            self._by_run.setdefault(run_id, {})[name] = value

    def of(self, run_id: str) -> dict[str, str]:
        """Placeholder name -> value, for what the run obtained in its current slice."""
        with self._lock:
            return dict(self._by_run.get(run_id, {}))

    def forget(self, run_id: str) -> None:
        with self._lock:
            self._by_run.pop(run_id, None)
