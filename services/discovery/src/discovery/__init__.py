"""Coldstream discovery service."""
