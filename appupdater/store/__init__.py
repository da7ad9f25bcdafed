"""Persistence: peewee models, opening the database, schema versions. Never imports Qt."""
