"""A GB/T 28181 device simulator (synthetic cameras) for the demo, tests and benchmarks."""
