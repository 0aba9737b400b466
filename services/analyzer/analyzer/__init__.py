"""The AIOps analyzer: learns what normal looks like from telemetry and reports what isn't."""
