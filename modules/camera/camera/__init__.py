"""The camera module of Central Edge."""
