"""Wiring every app shares: settings, logging, telemetry, health, database, Dapr clients, errors."""
