"""Coldstream personalization service."""
