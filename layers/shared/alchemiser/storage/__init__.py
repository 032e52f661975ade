"""The object store port (reports, traces, large payloads) and its adapters."""
