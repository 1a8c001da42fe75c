"""Helpers shared by tests: tiny local models, fixture paths."""
