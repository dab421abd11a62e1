"""The audit trail: every state change, attributed, in an append-only, verifiable hash chain."""
