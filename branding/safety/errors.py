class UnsafeInput(ValueError):
    """Refused brand input; str(exc) is the message for the form."""
