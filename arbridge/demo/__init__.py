"""The local demo: a seeded company, the emulated task tool and the real engine."""
