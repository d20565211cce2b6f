"""Scheduled jobs: deadline escalation, weekly digests, the outbox; run exactly once by an elected leader."""
