"""Durable state: SQLModel tables, repositories, the outbox and migrations."""
