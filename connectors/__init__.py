"""The outside world: drop folders, the intake reader, the partner outbox, notifications.

Nothing here imports Prefect. The intake reader's public API is in :mod:`connectors.reader`.
"""
