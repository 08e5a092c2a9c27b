"""Local tooling: the Lambda Runtime API stand-in, local services, the demo and the benchmark."""
