"""The REST metadata store: a :class:`~bevel.metadata.base.MetadataStore` that talks to a bevel
server (``bevel server start``) over HTTP, with the standard library only.

:mod:`.store` implements the protocols, :mod:`.transport` sends requests and sorts failures,
:mod:`.codec` is the wire format of records and errors, :mod:`.credentials` finds the API key.
"""
