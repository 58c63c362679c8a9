"""Stripe for arbridge: invoice source, webhooks and a local emulator."""
