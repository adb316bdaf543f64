"""Coldstream sending service."""
