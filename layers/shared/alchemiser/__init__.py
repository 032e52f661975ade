"""The Alchemiser: symphony engine, per-strategy books and the daily trading cycle."""

__version__ = "0.1.0"
