"""dj-stripe's tables for the test database (orbit/settings.py MIGRATION_MODULES, TESTING only)."""
