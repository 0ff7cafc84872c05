"""Helpers shipped for tests, benchmarks and the demo: real Ironic and MetalScope processes on
loopback."""
