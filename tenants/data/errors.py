class DataError(Exception):
    """A backup, restore, export or import was refused or failed; the message is for a person."""
