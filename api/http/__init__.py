"""The integrator HTTP API (Litestar)."""
