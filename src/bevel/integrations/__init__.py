"""Optional integrations with third-party libraries.

Core bevel never imports these modules directly: they are named by ``"module:Class"`` strings in
lazy tables (flavors, materializers), so a library is imported only when a user's object or stack
actually needs it.
"""
