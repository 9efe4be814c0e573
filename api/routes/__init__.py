"""The HTTP routes, one module per concern; each route only translates."""
