"""AWS list prices (us-east-1, on-demand, no free tier) of what a deployment of template.yaml
pays for, as published on each service's pricing page on `AS_OF`. bench/cost.py prices a run
with them; they are not a bill (savings plans, free tiers and other regions differ) and AWS
changes them: update the table and `AS_OF` together."""

from __future__ import annotations

from typing import Final

AS_OF: Final = "2025-06-01"
REGION: Final = "us-east-1"

# Lambda, per GB-second of duration (billed by the ms) and per request.
LAMBDA_GB_SECOND: Final = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
LAMBDA_REQUEST: Final = 0.20 / 1_000_000
# /tmp above the free 512 MB, per GB-second (both architectures).
LAMBDA_EPHEMERAL_GB_SECOND: Final = 0.0000000309

# Step Functions Standard workflows, per state transition.
SFN_STATE_TRANSITION: Final = 0.025 / 1000

# DynamoDB on demand (the price of November 2024): per write and read request unit, and
# per GB-month of storage and of continuous backups (point-in-time recovery).
DDB_WRITE_UNIT: Final = 0.625 / 1_000_000
DDB_READ_UNIT: Final = 0.125 / 1_000_000
DDB_STORAGE_GB_MONTH: Final = 0.25
DDB_PITR_GB_MONTH: Final = 0.20
# Reading the events table's stream from a Lambda trigger is free.

# S3 Standard: PUT, COPY, POST and LIST requests; GET and other reads; storage.
S3_WRITE_REQUEST: Final = 0.005 / 1000
S3_READ_REQUEST: Final = 0.0004 / 1000
S3_STORAGE_GB_MONTH: Final = 0.023

# EventBridge custom events published (each 64 KB chunk of an entry is one event); AWS
# services' events (Step Functions status changes, schedules) and rule deliveries are free.
EVENTBRIDGE_EVENT: Final = 1.00 / 1_000_000
EVENT_CHUNK_BYTES: Final = 64 * 1024

# SQS standard queues, per request (each 64 KB chunk of a payload is one request).
SQS_REQUEST: Final = 0.40 / 1_000_000

# CloudWatch: log ingestion and storage, alarms, custom metrics (EMF lines of Powertools).
LOGS_INGEST_GB: Final = 0.50
LOGS_STORAGE_GB_MONTH: Final = 0.03
ALARM_MONTH: Final = 0.10
CUSTOM_METRIC_MONTH: Final = 0.30

# API Gateway HTTP APIs, per request (each 512 KB chunk is one request).
HTTP_API_REQUEST: Final = 1.00 / 1_000_000

# Secrets Manager, KMS customer-managed keys, X-Ray traces, ECR image storage.
SECRET_MONTH: Final = 0.40
SECRETS_API_CALL: Final = 0.05 / 10_000
KMS_KEY_MONTH: Final = 1.00
XRAY_TRACE: Final = 5.00 / 1_000_000
ECR_GB_MONTH: Final = 0.10

DAYS_PER_MONTH: Final = 30.4375


def lambda_gb_second(architecture: str) -> float:
    try:
        return LAMBDA_GB_SECOND[architecture]
    except KeyError:
        raise ValueError(f"no Lambda price for architecture {architecture!r}") from None
