"""The order saga as Dapr Workflows, hosted by order-service."""
