"""QuickBooks Online for arbridge: OAuth, invoice source, webhooks and a local emulator."""
