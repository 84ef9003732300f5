"""Benchmark commands that print figures (``make bench``); never imported by the platform."""
