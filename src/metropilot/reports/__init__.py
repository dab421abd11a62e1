"""Citizen reports: categories, reports and the Open311 GeoReport v2 interface."""
