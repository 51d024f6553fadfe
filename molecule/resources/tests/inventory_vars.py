"""Read a test host's inventory variables (vault decrypted) for testinfra tests.

`host.ansible.get_variables()` returns the inventory's values untemplated, so a secret mapped as
`postgresql_omero_password: "{{ vault_postgresql_omero_password }}"` is resolved here by following
such plain `{{ name }}` references (the only form the inventories use for secrets).
"""
import re

_REFERENCE = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")


def inventory_var(host, name, default=None):
    variables = host.ansible.get_variables()
    value = variables.get(name, default)
    seen = set()
    while isinstance(value, str) and _REFERENCE.match(value.strip()) and value not in seen:
        seen.add(value)
        value = variables.get(_REFERENCE.match(value.strip()).group(1), default)
    return value
