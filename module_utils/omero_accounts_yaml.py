# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The accounts inventory's YAML, read strictly: one document per file, no key given twice.

Part of the inventory layer (see module_utils/omero_accounts_base.py); PyYAML is passed in by the
caller so that the Ansible modules, which never read YAML, do not depend on it.
"""

import datetime


def normalise(value):
    """Dates (PyYAML turns 2026-11-02 into a date) become ISO strings, recursively."""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()[:10]
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def key_path(parts):
    """``["people", 3, "omename"]`` -> ``people[3].omename`` (``(root)`` for no parts)."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


_YAML_MERGE_TAG = "tag:yaml.org,2002:merge"


def load_yaml_unique(text, yaml_module):
    """Parse one YAML document as ``safe_load`` does, refusing a key given twice in one mapping.

    PyYAML keeps the last of two equal keys silently; here a ``SafeLoader`` subclass compares the
    constructed keys of every mapping (so ``yes`` and ``true`` are the same key, as YAML 1.1 says)
    and records each repeat instead. Merge keys (``<<``) keep their YAML meaning: a key the mapping
    sets itself overrides a merged one. Returns ``(data, duplicates)``, ``duplicates`` a list of
    ``(key path, message)``; a syntax error raises ``yaml_module.YAMLError`` as ``safe_load`` does.
    """
    nodes = yaml_module.nodes

    class UniqueKeyLoader(yaml_module.SafeLoader):
        def construct_mapping(self, node, deep=False):
            if isinstance(node, nodes.MappingNode):
                first = {}
                for key_node, _value_node in node.value:
                    if key_node.tag == _YAML_MERGE_TAG:
                        continue
                    key = self.construct_object(key_node, deep=True)
                    try:
                        hash(key)
                    except TypeError:
                        continue  # the base class reports an unhashable key as a YAML error
                    line = key_node.start_mark.line + 1
                    if key in first:
                        label = _node_label(key_node)
                        message = (f"duplicate key {label!r} (first at line {first[key]}, again at line {line}):"
                                   " YAML would silently keep only the last one")
                        duplicates.append((key_path(paths.get(id(node), []) + [label]), message))
                    else:
                        first[key] = line
            return super().construct_mapping(node, deep=deep)

    def _node_label(node):
        return node.value if isinstance(node, nodes.ScalarNode) else f"({type(node).__name__})"

    def walk(node, parts):
        if id(node) in paths:  # an alias: keep the path of the anchor
            return
        paths[id(node)] = parts
        if isinstance(node, nodes.MappingNode):
            for key_node, value_node in node.value:
                walk(value_node, parts + [_node_label(key_node)])
        elif isinstance(node, nodes.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, parts + [i])

    paths, duplicates = {}, []
    loader = UniqueKeyLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, duplicates
        walk(root, [])
        return loader.construct_document(root), duplicates
    finally:
        loader.dispose()
