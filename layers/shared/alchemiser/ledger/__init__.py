"""The ledger port (runs, orders, fills, FIFO lots, book snapshots) and its adapters."""
