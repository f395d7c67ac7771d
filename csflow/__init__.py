"""csflow: customer-service requests as durable Temporal workflows."""

__version__ = "0.1.0"
