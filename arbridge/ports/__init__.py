"""What the engine expects of the outside: sources of invoices, task sinks, webhook senders,
credential stores, and how installed connectors are found. Connectors implement these through
:mod:`arbridge.api`; the engine depends only on the protocols, never on a vendor."""
