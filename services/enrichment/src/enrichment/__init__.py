"""Coldstream enrichment service."""
