"""`python -m enrichment` runs the service."""

from enrichment.main import main

main()
