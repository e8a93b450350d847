"""Liveness and readiness for load balancers, systemd and compose."""
