"""`python -m replies` runs the service."""

from replies.main import main

main()
