"""The project's own pipecat frames."""
