"""Property: whatever valid events a run receives, in whatever batches, the stored view is
the fold of its log (both adapters)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from altostratus.domain import events as ev
from altostratus.domain.enums import ActionStatus, ArtifactType, RunStatus, StepStatus
from altostratus.domain.view import RunView, apply, fold
from altostratus.ports.event_log import EventLog
from tests.support.runs import created, d

_run_numbers = itertools.count()
_ids = itertools.count(10_000_000)
_texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


def _next_payloads(view: RunView, draw: st.DrawFn) -> ev.EventData:
    """One event the run's rules allow now."""
    status = view.status
    options: list[str] = ["artifact", "cancel_requested"] if not view.is_terminal else ["artifact", "webhook"]
    if status is RunStatus.CREATED:
        options += ["queued", "started", "terminal"]
    elif status is RunStatus.QUEUED:
        options += ["started", "terminal"]
    elif status is RunStatus.RUNNING:
        options += ["step", "action", "thought", "output", "checkpoint", "terminal", "resumed"]
    kind = draw(st.sampled_from(options))
    step_id = view.current_step_id or f"stp_{next(_ids)}"
    match kind:
        case "queued":
            return ev.RunQueued()
        case "started":
            return ev.RunStarted()
        case "resumed":
            return ev.RunResumed(reason="new slice")
        case "cancel_requested":
            return ev.RunCancelRequested(reason=draw(_texts))
        case "step":
            if view.current_step_id and draw(st.booleans()):
                usage = ev.Usage(input_tokens=draw(st.integers(0, 5000)), cost_usd=draw(st.floats(0, 1)))
                return ev.StepFinished(
                    step_id=view.current_step_id, status=draw(st.sampled_from(StepStatus)), usage=usage
                )
            return ev.StepStarted(step_id=f"stp_{next(_ids)}", order=view.next_step_order)
        case "action":
            if draw(st.booleans()):
                return ev.ActionPlanned(
                    step_id=step_id, action_order=1, action_type="click", tool="click", reasoning=draw(_texts)
                )
            return ev.ActionExecuted(
                step_id=step_id,
                action_order=1,
                status=draw(st.sampled_from(ActionStatus)),
                summary=draw(_texts),
            )
        case "thought":
            return ev.ThoughtRecorded(thought_id=f"th_{next(_ids)}", thought=draw(_texts))
        case "output":
            return ev.OutputProduced(
                output=draw(st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))
            )
        case "checkpoint":
            return ev.CheckpointSaved(uri=f"file:///ck/{next(_ids)}", next_step_order=view.next_step_order)
        case "artifact":
            return ev.ArtifactStored(
                artifact_id=f"a_{next(_ids)}",
                artifact_type=draw(st.sampled_from(ArtifactType)),
                uri="file:///x",
                filename=draw(st.none() | _texts),
            )
        case "webhook":
            return draw(
                st.sampled_from(
                    [
                        ev.WebhookAttempted(
                            delivery_id="whd_1", attempt=1, url="https://h.example", status_code=500
                        ),
                        ev.WebhookDelivered(delivery_id="whd_1", attempt=2, status_code=200),
                        ev.WebhookFailed(delivery_id="whd_1", attempts=5, reason="HTTP 500"),
                    ]
                )
            )
        case _:
            reason = draw(_texts)
            return draw(
                st.sampled_from(
                    [
                        ev.RunCompleted(output={"ok": True}),
                        ev.RunFailed(reason=reason),
                        ev.RunTerminated(reason=reason, errors=(ev.RunError(error_code="NO_STOCK"),)),
                        ev.RunTimedOut(reason=reason, errors=(ev.RunError(error_code="REACH_MAX_STEPS"),)),
                        ev.RunCanceled(reason=reason),
                    ]
                )
            )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_stored_view_equals_the_fold_for_random_valid_histories(
    event_log_factory: Callable[[], EventLog], data: st.DataObject
) -> None:
    event_log = event_log_factory()
    run_id = f"tsk_v2_h{next(_run_numbers)}"
    first = created(webhook_url=data.draw(st.sampled_from([None, "https://hooks.example.com/x"])))
    event_log.append(run_id, [first])
    length = data.draw(st.integers(0, 30))
    produced = 0
    while produced < length:
        view = event_log.get_view(run_id)
        assert view is not None
        # Build a batch the rules allow by folding it locally as it grows.
        batch: list[ev.Draft] = []
        local = view
        for _ in range(data.draw(st.integers(1, 4))):
            payload = _next_payloads(local, data.draw)
            probe = ev.Event(
                event_id="probe",
                run_id=run_id,
                seq=local.version + 1,
                org_id=local.org_id,
                at=local.modified_at,
                data=payload,
            )
            local = apply(local, probe)
            batch.append(d(payload))
        event_log.append(run_id, batch)
        produced += len(batch)
    assert event_log.get_view(run_id) == fold(event_log.read(run_id))
