"""bevel.stack: what a run runs on, and how it is defined.

- ``stack``: :class:`Stack`, ``default_stack()``; ``components``: the component types and
  built-ins; ``home``: the home metadata store, chosen by its URL through the flavor table;
- ``build``: ``build_stack(name=None)`` (explicit > ``$BEVEL_STACK`` > ``bevel stack set`` >
  ``default``); ``loader`` builds non-default stacks component by component;
- ``validate``: ``validate_stack(stack, plan)``, ``check_reachable(stack)``;
- ``flavors`` (the table + the ``bevel.flavors`` entry point), ``config`` (validation, masking),
  ``configs`` (built-in flavor configs), ``factories`` / ``object_stores`` (built-in
  implementations), ``guard`` (errors naming the component);
- ``definitions`` (components, stacks and their rules), ``secrets`` (encrypted, referenced as
  ``{{secret.key}}``), ``portable`` (export/import), ``active`` (which stack), ``protocols``
  (the optional component types).
"""
