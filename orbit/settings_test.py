"""Settings for the test suite: the same as production's, on test Redis databases."""

import os

os.environ["ORBIT_TESTING"] = "1"

from orbit.settings import *  # noqa: E402,F403
