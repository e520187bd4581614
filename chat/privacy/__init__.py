"""Chat's LGPD settings per tenant (its own app, so its table has its own migrations)."""
