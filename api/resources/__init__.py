"""The JSON API's resources, each built with the CRUD generator plus its own routes."""
