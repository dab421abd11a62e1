"""Rules and alarms: the platform notices what matters in the telemetry and follows it up."""
