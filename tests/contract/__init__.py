"""Contract tests: emulators against the official API descriptions."""
