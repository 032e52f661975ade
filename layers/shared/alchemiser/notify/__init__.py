"""The notifier port (one email per run) and its adapters."""
