"""The sensor module of Central Edge."""
