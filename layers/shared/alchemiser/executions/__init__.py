"""The executions port: is a state machine execution still running, where did it fail."""
