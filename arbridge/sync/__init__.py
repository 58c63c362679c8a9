"""Reconciliation: desired task state (pure), plans (pure), the outbox worker that applies them."""
