"""The Anschlussvereinbarung (transition agreement): versions, signatures, locking."""
