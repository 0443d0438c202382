"""EC2 Query API simulator for gpuctl's tests (see tests/sim/README.md)."""
