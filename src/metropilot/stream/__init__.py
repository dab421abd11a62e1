"""The live stream: status and alarm changes for the command centre, resumable by event id."""
