"""What a replay needs of an action's recording and of the output, with secrets hidden.

The browser reports the element an action acted on and the effect it saw; the run's output is
traced back to the elements its values were read from. Both are recorded in the run's events
(through `Secrets`, like everything a page shows) so a completed run compiles to a plan.
"""

from __future__ import annotations

import asyncio
from typing import Any

from altostratus.domain.replay.compile import leaves, renderings
from altostratus.domain.replay.targets import ObservedEffect, SelectorBundle, TextSource
from altostratus.engine.agent.secrets import Secrets
from altostratus.ports.browser import AgentBrowser

# Outputs with more leaves than this are not traced (a replay of them would read as many).
MAX_TRACED_VALUES = 200
# Tracing is one scan of the page; on a huge page it must not hold the run's end up.
TRACE_TIMEOUT_S = 5.0


def shown_target(secrets: Secrets, target: SelectorBundle | None) -> SelectorBundle | None:
    if target is None:
        return None
    return SelectorBundle.model_validate(secrets.redact_any(target.model_dump(mode="json")))


def shown_observed(secrets: Secrets, observed: ObservedEffect | None) -> ObservedEffect | None:
    if observed is None:
        return None
    return ObservedEffect.model_validate(secrets.redact_any(observed.model_dump(mode="json")))


async def output_sources(browser: AgentBrowser, secrets: Secrets, output: Any) -> tuple[TextSource, ...]:
    """Where each value of `output` shows on the current page (values not found are left out)."""
    wanted: list[tuple[tuple[str | int, ...], list[str]]] = [
        (path, renderings(value)) for path, value in leaves(output)
    ]
    wanted = [(path, forms) for path, forms in wanted if forms][:MAX_TRACED_VALUES]
    if not wanted:
        return ()
    flat = [form for _, forms in wanted for form in forms]
    try:
        found = await asyncio.wait_for(browser.find_text(flat), TRACE_TIMEOUT_S)
    except Exception:  # tracing is best effort: the run's output stands without it
        return ()
    sources: list[TextSource] = []
    at = 0
    for path, forms in wanted:
        hits = found[at : at + len(forms)]
        at += len(forms)
        for form, hit in zip(forms, hits, strict=False):
            if hit is not None:
                target = shown_target(secrets, hit.target)
                assert target is not None
                sources.append(
                    TextSource(path=path, value=form, target=target, text=secrets.redact(hit.text))
                )
                break
    return tuple(sources)
