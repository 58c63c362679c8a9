"""Composition: builds the store, the connectors and the loop's stages from settings and runs
them. Nothing here decides anything; it only wires."""
