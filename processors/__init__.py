"""The project's own frame processors and local engines."""
