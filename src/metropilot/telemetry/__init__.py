"""Telemetry: what equipment reports, decoded, kept as time series and as each asset's twin."""
