"""Starts and stops the local stack: infrastructure, Dapr control plane, the apps of dapr.yaml."""
