"""One call assembled: configuration, prompts, tools, services, pipeline, command line."""
