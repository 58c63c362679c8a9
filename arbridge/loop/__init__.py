"""The reconciliation loop, stage by stage:

    ingest (polls, webhooks) -> inbox -> canonical store (reconcile) -> rules (facts, firing)
        -> desired task (core) -> plan (core) -> outbox -> apply (workers)

Each stage writes what it decided to the store in the transaction that decides it, so the next
stage can crash and resume without losing or repeating anything."""
