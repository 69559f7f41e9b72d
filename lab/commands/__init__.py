"""The command language: one registry serves the REPL, scripts, lessons and tests."""
