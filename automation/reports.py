"""Automation reports (placeholder until built)."""

from portal.placeholder import section_not_built

report = section_not_built("Automation reports")
