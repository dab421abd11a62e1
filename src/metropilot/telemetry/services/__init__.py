"""The ingest pipeline, the telemetry reads and the tables' housekeeping.

- ``pipeline``: ``IngestPipeline``, one per process, holding the directory and the twin;
- ``batch``: one batch's way through it, item by item (the hot path), and its result;
- ``reads``: series, an asset's twin, the ingest counters, for the API;
- ``maintenance``: rollups, retention and partitions.
"""

from metropilot.telemetry.services.batch import (
    MANUAL_STATUSES,
    STATUS_METRICS,
    BatchObserver,
    BatchResult,
    EventObserver,
    TwinChange,
)
from metropilot.telemetry.services.maintenance import (
    PARTITIONS_AHEAD,
    ROLLUP_RECOMPUTE,
    MaintenanceReport,
    maintain,
    prepare_partitions,
)
from metropilot.telemetry.services.pipeline import INGEST_ACTOR, IngestPipeline
from metropilot.telemetry.services.reads import BUCKETS, ingest_stats, series, twin
from metropilot.telemetry.twin import AssetDirectory, AssetInfo

__all__ = [
    "BUCKETS",
    "INGEST_ACTOR",
    "MANUAL_STATUSES",
    "PARTITIONS_AHEAD",
    "ROLLUP_RECOMPUTE",
    "STATUS_METRICS",
    "AssetDirectory",
    "AssetInfo",
    "BatchObserver",
    "BatchResult",
    "EventObserver",
    "IngestPipeline",
    "MaintenanceReport",
    "TwinChange",
    "ingest_stats",
    "maintain",
    "prepare_partitions",
    "series",
    "twin",
]
