"""Prefect flows: orchestration only. Every task takes ids and paths and calls core code."""
