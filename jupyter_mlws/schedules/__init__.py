"""Scheduled notebook and pipeline runs."""
