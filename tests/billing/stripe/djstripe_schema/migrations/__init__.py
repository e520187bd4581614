"""dj-stripe's tables for the test database in one migration generated from dj-stripe's models
(test_djstripe_schema.py keeps it equal to them)."""
