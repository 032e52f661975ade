"""Market data: daily adjusted closes, loading, synthetic markets and quality checks."""
