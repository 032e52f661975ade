"""Backtests: rebalance schedules, the daily holdings simulation and performance metrics."""
