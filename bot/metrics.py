"""Prometheus metrics: counts and timings only, never content or identities."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

MESSAGES = Counter("tipline_messages_total", "Inbound messages by channel and outcome", ["channel", "outcome"])
REPORTS = Counter("tipline_reports_submitted_total", "Reports handed to the filing queue by the web process",
                  ["status"])
REJECTED = Counter("tipline_webhook_rejected_total", "Webhook requests answered 4xx, by channel and HTTP status "
                   "(counted by the app's middleware)", ["channel", "reason"])
HANDLE_SECONDS = Histogram("tipline_handle_seconds", "Time to handle one inbound message")
