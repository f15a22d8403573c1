"""The AWS publisher: one DynamoDB stream record of the events table -> one bus message.

The stream carries each committed event once per shard, in order; a record that fails (the bus
or the state table unavailable) is reported back (`ReportBatchItemFailures`) and the stream
retries from it, so publishing is at-least-once and in order per run.
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)

from altostratus.domain import events as ev
from altostratus.domain.view import RunView
from altostratus.ports.bus import EventBus
from altostratus.publishing.detail import bus_message


class StreamPublisher:
    def __init__(self, *, get_view: Callable[[str], RunView | None], bus: EventBus) -> None:
        self._get_view = get_view
        self._bus = bus

    def publish_record(self, record: DynamoDBRecord) -> str | None:
        """Publish the event a stream record inserted; its type, or None for other records."""
        if record.event_name is not DynamoDBRecordEventName.INSERT or record.dynamodb is None:
            return None  # the events table is append-only: nothing else is an event
        image = record.dynamodb.new_image
        event = ev.decode_event(str(image["body"]))
        self._bus.publish([bus_message(event, self._get_view(event.run_id))])
        return event.type
