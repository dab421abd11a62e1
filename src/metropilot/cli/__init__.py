"""The ``metropilot`` command line."""
