"""The broker port (account, positions, quotes, orders) and its adapters."""
