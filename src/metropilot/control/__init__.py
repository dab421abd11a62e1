"""Remote control: commands to equipment, their lifecycle and interlocks, scenarios."""
