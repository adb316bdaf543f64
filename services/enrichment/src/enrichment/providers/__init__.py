"""Paid provider adapters over their documented HTTP shapes, and the resilience they share."""
