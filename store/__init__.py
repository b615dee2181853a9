"""The reservation store: models, database, availability and booking rules, migrations."""
