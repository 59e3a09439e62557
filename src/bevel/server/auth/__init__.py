"""Authentication and roles of the bevel server.

- :mod:`.keys`: roles (``viewer`` < ``editor`` < ``admin``), the API key format and its hash;
- :mod:`.store`: users, service accounts and keys in the server's database;
- :mod:`.guard`: the one dependency every endpoint goes through. Each route declares the role
  it needs (``openapi_extra={"x-bevel-role": ...}``, see :func:`bevel.server.routes.route`);
  the guard refuses a route that declares none, so a new endpoint cannot skip it.
"""
