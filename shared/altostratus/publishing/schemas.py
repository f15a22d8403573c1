"""JSON Schemas of the published events' `detail`, one per detail-type (events/schemas/).

The schemas are generated from the event models, minus what never leaves the log, and every
object forbids unknown properties, so a detail that would carry `RunCreated.request` fails
validation. Write them with `python -m altostratus.publishing.schemas events/schemas`; a test
keeps the files equal to this output.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

from altostratus.domain import events as ev
from altostratus.publishing.detail import _PRIVATE_FIELDS, PublishedDetail

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _payload_schema(event_type: str) -> dict[str, Any]:
    cls = next(c for c in ev.PAYLOAD_CLASSES if c.model_fields["type"].default == event_type)
    schema = cls.model_json_schema(mode="serialization", ref_template="#/$defs/{model}")
    for name in _PRIVATE_FIELDS.get(event_type, ()):
        schema["properties"].pop(name, None)
        if name in schema.get("required", []):
            schema["required"].remove(name)
    schema["properties"]["type"] = {"const": event_type, "title": "Type", "type": "string"}
    return schema


def detail_schema(event_type: str) -> dict[str, Any]:
    """The schema of `detail` for one detail-type."""
    base = copy.deepcopy(
        PublishedDetail.model_json_schema(mode="serialization", ref_template="#/$defs/{model}")
    )
    defs: dict[str, Any] = base.pop("$defs", {})
    payload = _payload_schema(event_type)
    defs.update(payload.pop("$defs", {}))
    defs[event_type] = payload
    event = defs["PublishedEvent"]
    event["properties"]["type"] = {"const": event_type, "title": "Type", "type": "string"}
    event["properties"]["data"] = {"anyOf": [{"$ref": f"#/$defs/{event_type}"}, {"type": "null"}]}
    base.pop("title", None)
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"https://altostratus.dev/schemas/events/{event_type}.json",
        "title": f"altostratus {event_type}",
        "description": (
            f"The `detail` of an EventBridge event with source `altostratus` and detail-type `{event_type}`."
        ),
        **base,
        "$defs": dict(sorted(defs.items())),
    }


def all_schemas() -> dict[str, dict[str, Any]]:
    return {event_type: detail_schema(event_type) for event_type in ev.EVENT_TYPES}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type, schema in all_schemas().items():
        path = directory / f"{event_type}.json"
        path.write_text(render(schema))
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - a developer tool
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "events/schemas")):
        print(path)
