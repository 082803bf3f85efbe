"""Subcommands of `central`: one module each, exposing `register(subparsers)`.

A command's `register` adds its parser and sets `func=<callable(args) -> int>`.
"""
