"""`python -m discovery` runs the service."""

from discovery.main import main

# Guarded: the import's worker processes (spawned) import this module as `__mp_main__` and must not start a service.
if __name__ == "__main__":
    main()
