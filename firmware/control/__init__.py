"""Headless HTTP/JSON control API (../shared/spec/control-api.md): part of the shell."""
