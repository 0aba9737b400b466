"""Response models of the stack's HTTP APIs, one module per service.

The services declare them as `response_model`s (so each OpenAPI document is
complete), and the CLI and chaos tools parse responses with the same classes
instead of re-reading JSON by hand. Pydantic only: no web framework here.
"""
