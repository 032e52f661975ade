"""The daily cycle: one function per state machine step, over the ports."""
