"""`python -m discovery` runs the service."""

from discovery.main import main

main()
