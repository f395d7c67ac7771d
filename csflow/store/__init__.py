"""PostgreSQL access: migrations and parameterised queries shared by activities and the API."""
