"""What a run listing shows of each run: a few fields of its view, small enough to store beside
the listing index so a page of runs is read without decoding any run's whole view.

`search_text` is the one normalization of listing searches: stores keep the normalized title
and prompt prefix of each run, and a search is the same normalization of what the caller typed,
matched as a prefix.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from altostratus.domain.enums import Engine, RunStatus, RunType
from altostratus.domain.view import RunView

# How much of the prompt a summary keeps, and how much of a title or prompt a search matches.
PROMPT_EXCERPT_CHARS = 200
SEARCH_PREFIX_CHARS = 200


class RunSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    run_type: RunType
    status: RunStatus
    engine: Engine | None = None
    title: str | None = None
    prompt: str | None = None  # the first PROMPT_EXCERPT_CHARS characters
    workflow_id: str | None = None
    created_at: datetime
    modified_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    step_count: int = 0
    failure_reason: str | None = None
    cost_usd: float = 0.0

    @classmethod
    def of(cls, view: RunView) -> RunSummary:
        prompt = view.request_echo.get("prompt")
        return cls(
            run_id=view.run_id,
            run_type=view.run_type,
            status=view.status,
            engine=view.engine,
            title=view.title,
            prompt=str(prompt)[:PROMPT_EXCERPT_CHARS] if prompt else None,
            workflow_id=view.workflow_id,
            created_at=view.created_at,
            modified_at=view.modified_at,
            started_at=view.started_at,
            finished_at=view.finished_at,
            step_count=view.step_count,
            failure_reason=view.failure_reason,
            cost_usd=view.usage.cost_usd,
        )


def search_text(text: str | None) -> str:
    """Case- and spacing-insensitive form of a title, a prompt or a search ('' for nothing)."""
    if not text:
        return ""
    return " ".join(text.split()).casefold()[:SEARCH_PREFIX_CHARS]


def search_keys(view: RunView) -> tuple[str, str]:
    """The normalized title and prompt prefix a store indexes for `search_key`."""
    prompt = view.request_echo.get("prompt")
    return search_text(view.title), search_text(str(prompt) if prompt else None)
