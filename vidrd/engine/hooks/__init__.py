"""Hooks of vidrd (registered in HOOKS)."""
from .bad_sample_report_hook import BadSampleReportHook

__all__ = ['BadSampleReportHook']
