"""Metropilot: an open-source urban hypervisor."""

__version__ = "0.1.0"
