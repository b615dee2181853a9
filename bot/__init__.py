"""One call assembled: configuration, prompts, tools, services, pipeline, command line."""

import time

STARTED_AT = time.monotonic()
"""When the package was first imported: ``python -m bot``'s start, for start-up figures."""
