"""The platform's published contracts: message schemas (AsyncAPI 3.0, JSON Schema), the gateway's
OpenAPI document and the consumer pacts. `python -m contracts.generate` writes the documents."""
