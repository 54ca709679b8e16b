"""Renderers: layout only, no decisions."""
