"""Coldstream."""
