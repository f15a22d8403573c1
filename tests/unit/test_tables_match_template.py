"""The tables the tests and local tools create (`create_tables`) are the ones template.yaml
deploys: same keys, same indexes and projections, same stream."""

from __future__ import annotations

from typing import Any

from altostratus.adapters.dynamodb_event_log import create_tables
from tests.support.template import load_template, resource


class _Recorder:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Any]] = {}

    def create_table(self, **table: Any) -> None:
        self.tables[table["TableName"]] = table


def _shape(table: dict[str, Any]) -> dict[str, Any]:
    indexes = {
        gsi["IndexName"]: {
            "keys": [(k["AttributeName"], k["KeyType"]) for k in gsi["KeySchema"]],
            "projection": gsi["Projection"]["ProjectionType"],
            "attributes": sorted(gsi["Projection"].get("NonKeyAttributes", [])),
        }
        for gsi in table.get("GlobalSecondaryIndexes", [])
    }
    return {
        "keys": [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]],
        "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]),
        "indexes": indexes,
        "billing": table["BillingMode"],
        "stream": (table.get("StreamSpecification") or {}).get("StreamViewType"),
    }


def test_create_tables_makes_the_tables_template_yaml_declares() -> None:
    recorder = _Recorder()
    create_tables(recorder, events_table="events", state_table="state")
    template = load_template()
    assert _shape(recorder.tables["events"]) == _shape(resource(template, "EventsTable"))
    assert _shape(recorder.tables["state"]) == _shape(resource(template, "StateTable"))
    # The listing index carries summaries, never whole views.
    index = _shape(recorder.tables["state"])["indexes"]["runs_by_org"]
    assert index["projection"] == "INCLUDE" and "body" not in index["attributes"]
