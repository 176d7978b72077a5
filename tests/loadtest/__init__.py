"""Load and fault test (`make loadtest`); run as `python -m tests.loadtest.run`."""
