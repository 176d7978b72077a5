"""The test suite. A package, so that shared helpers are imported as `tests.support.<module>`
(pytest puts the repository root on `sys.path`; scripts run as `python -m tests.<...>`)."""
