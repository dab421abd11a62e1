"""FixMyStreet's update statuses (``servicerequestupdates``) and the platform's report states."""

from __future__ import annotations

from metropilot.reports.model import ReportState

__all__ = ["FROM_UPDATE_STATUS", "TO_UPDATE_STATUS"]


# FixMyStreet's update statuses ↔ our states.
FROM_UPDATE_STATUS = {
    "open": ReportState.TRIAGED,
    "investigating": ReportState.TRIAGED,
    "in_progress": ReportState.IN_PROGRESS,
    "action_scheduled": ReportState.ACTION_SCHEDULED,
    "fixed": ReportState.FIXED,
    "closed": ReportState.FIXED,
    "duplicate": ReportState.DUPLICATE,
    "not_councils_responsibility": ReportState.NOT_OUR_RESPONSIBILITY,
    "internal_referral": ReportState.NOT_OUR_RESPONSIBILITY,
    "no_further_action": ReportState.NO_FURTHER_ACTION,
    "cancelled": ReportState.CANCELLED,
    "reopen": ReportState.REOPENED,
}
TO_UPDATE_STATUS = {
    ReportState.NEW: "open",
    ReportState.TRIAGED: "investigating",
    ReportState.IN_PROGRESS: "in_progress",
    ReportState.ACTION_SCHEDULED: "action_scheduled",
    ReportState.REOPENED: "reopen",
    ReportState.FIXED: "fixed",
    ReportState.DUPLICATE: "duplicate",
    ReportState.NOT_OUR_RESPONSIBILITY: "not_councils_responsibility",
    ReportState.NO_FURTHER_ACTION: "no_further_action",
    ReportState.CANCELLED: "cancelled",
}
