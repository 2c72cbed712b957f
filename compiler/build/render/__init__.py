"""Renderers: pure functions from validated models to file contents."""
