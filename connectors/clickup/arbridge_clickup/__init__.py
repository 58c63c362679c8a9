"""ClickUp connector for arbridge: task sink, field schema, webhook verifier and emulator."""
