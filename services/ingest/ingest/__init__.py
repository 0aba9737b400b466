"""The OTLP/HTTP receiver: `uvicorn --factory ingest.app:create_app` (port 4318 in compose)."""
