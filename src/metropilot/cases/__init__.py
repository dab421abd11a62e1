"""Cases: what the command post handles, who acts on them, and how fast (SLA)."""
