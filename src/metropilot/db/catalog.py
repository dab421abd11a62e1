"""Every context's tables on the one metadata, for migrations and test clean-up."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from metropilot.db.schema import metadata

__all__ = ["REPOSITORY_MODULES", "load_all_tables"]

REPOSITORY_MODULES = (
    "metropilot.territory.repository",
    "metropilot.accounts.repository",
    "metropilot.assets.repository",
    "metropilot.audit.repository",
    "metropilot.telemetry.repository",
    "metropilot.stream.repository",
    "metropilot.alarms.repository",
    "metropilot.reports.repository",
    "metropilot.cases.repository",
    "metropilot.contracts.repository",
    "metropilot.control.repository",
)


def load_all_tables() -> MetaData:
    for name in REPOSITORY_MODULES:
        importlib.import_module(name)
    return metadata
