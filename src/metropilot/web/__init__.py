"""The web entry point: the API application and the pages people use."""
