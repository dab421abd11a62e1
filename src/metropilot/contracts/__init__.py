"""The performance contract: lots, KPIs, penalties and lighting energy."""
