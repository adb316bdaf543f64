"""Property-based tests: bad input across every edge."""
