"""The daemon's HTTP face: webhooks in, health and metrics out, the QuickBooks OAuth callback."""
