"""The vision module of Central Edge."""
