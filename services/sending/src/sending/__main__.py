"""`python -m sending` runs the service."""

from sending.main import main

main()
