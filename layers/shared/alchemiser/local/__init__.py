"""Run the system on one machine: the Step Functions definition executed in-process.

`alchemiser.local.asl_runner` executes an ASL definition with moto's Step Functions
interpreter and answers every Lambda task by calling a Python handler in-process.
Nothing here is imported by the Lambda functions on AWS.
"""
