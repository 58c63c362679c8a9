"""Entry point that lets arbridge discover the ClickUp connector."""

connector = "clickup"
