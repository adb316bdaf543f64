"""Coldstream replies service."""
