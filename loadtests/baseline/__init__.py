"""A bare Dapr Python workflow app, the bench's yardstick: as many activities as the order saga's
happy path, each doing nothing, on the same daprd build and the stack's placement and scheduler."""
