"""`python -m personalization` runs the service."""

from personalization.main import main

main()
