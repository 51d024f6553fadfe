# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The accounts inventory's YAML, read strictly and in linear time, whatever a file holds.

Plain YAML only (mappings, lists, text, numbers, booleans, dates, null, one document per file, each
key once); every other construct is refused where it is, as ``(key path, message)``, and nothing is
ever expanded (``load_yaml_strict``). Part of the inventory layer (see
module_utils/omero_accounts_base.py); PyYAML is passed in by the caller so that the Ansible modules,
which never read YAML, do not depend on it.
"""

import datetime
import re

try:  # the validator, the governance runner and the tests: module_utils/ is on sys.path
    import omero_accounts_base as model_base
except ImportError:  # an Ansible module: AnsiballZ ships module_utils as ansible.module_utils.*
    from ansible.module_utils import omero_accounts_base as model_base


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


# Limits far above what an accounts file needs, so that any input is answered fast: the deepest real
# key path (team.collaboration_groups[0].members[0]) is 4 levels, the longest real value a description.
MAX_DEPTH = 10
MAX_SCALAR_CHARS = 2000
_PLAIN_TAGS = ("null", "bool", "int", "float", "timestamp", "str")
_REPEATS = "anchors, aliases and merge keys are refused (an accounts file never needs them): write each value out"
_NO_KEY = object()
_REFUSED = object()
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]{0,17})\Z")


class _Reader:
    """One pass over the parser's events, building plain data without recursion.

    Anchors, aliases, merge keys, tags, keys that are not plain values, nesting deeper than
    ``MAX_DEPTH`` and values longer than ``MAX_SCALAR_CHARS`` are refused where they occur (so a
    billion-laughs document is refused at its first anchor, and nothing is ever expanded); a key
    given twice in one mapping is refused too (PyYAML would keep the last one silently; keys are
    compared as constructed, so ``yes`` and ``true`` are the same key, as YAML 1.1 says). Key paths
    are worked out only for a problem, from the stack of open collections.
    """

    def __init__(self, yaml_module):
        self.yaml = yaml_module
        events = yaml_module.events
        self.scalar_event, self.mapping_start = events.ScalarEvent, events.MappingStartEvent
        self.starts = (events.MappingStartEvent, events.SequenceStartEvent)
        self.ends = (events.MappingEndEvent, events.SequenceEndEvent)
        self.ignored = (events.StreamStartEvent, events.StreamEndEvent, events.DocumentEndEvent)
        self.document_start, self.alias = events.DocumentStartEvent, events.AliasEvent
        self.resolver = yaml_module.resolver.Resolver()
        self.constructor = yaml_module.constructor.SafeConstructor()
        resolvers = self.resolver.yaml_implicit_resolvers
        # First characters of the plain values that may read as something else than text (true, 1, ~...).
        self.typed_first = None if None in resolvers else set(resolvers)
        self.typed = {}  # plain value -> what it reads as (true, ~, 1.5...), for values seen again
        self.problems = []
        self.stack = []  # per open collection: [container, label in its parent, pending key or _NO_KEY, {key: line}]
        self.skipping = 0  # depth inside a refused collection, whose content is not read
        self.documents = 0
        self.done = False
        self.root = None

    def refuse(self, key, message):
        self.problems.append((key, message))

    def here(self, event=None):
        """Key path of the value about to be read (of the key itself when ``event`` is a plain key)."""
        parts = [entry[1] for entry in self.stack[1:]]
        if self.stack:
            container, _label, key, _lines = self.stack[-1]
            if isinstance(container, list):
                parts.append(len(container))
            elif key is not _NO_KEY:
                parts.append(key[1])
            elif isinstance(event, self.scalar_event):
                parts.append(event.value)
        return parts

    def read(self, events):
        try:
            for event in events:
                self.event(event)
                if len(self.problems) >= model_base.MAX_PROBLEMS:
                    self.refuse("(file)", f"stopped reading after {model_base.MAX_PROBLEMS} problems")
                    break
                if self.done:
                    break
        except self.yaml.YAMLError as exc:
            if not self.problems:
                raise
            mark = getattr(exc, "problem_mark", None)
            self.refuse("(file)", "stopped reading at a YAML syntax error{}".format(
                f" at line {mark.line + 1}" if mark else ""))
        return self.root

    def event(self, event):
        cls = event.__class__
        if cls in self.ignored:
            return
        if cls is self.document_start:
            self.documents += 1
            if self.documents > 1:
                self.refuse("(file)", f"a second YAML document at line {event.start_mark.line + 1}:"
                                      " an accounts file holds exactly one")
            return
        if self.skipping:
            self.skip(event, cls)
            return
        if cls in self.ends:
            entry = self.stack.pop()
            self.add(entry[0], event)
            return
        problem = self.problem(event, cls)
        if problem:
            self.refuse(key_path(self.here(event)), problem)
            if cls in self.starts:
                self.skipping = 1
            else:
                self.add(None, event)
        elif cls is self.scalar_event:
            self.add(self.scalar(event), event)
        else:
            self.stack.append([{} if cls is self.mapping_start else [], self.label(), _NO_KEY, {}])

    def label(self):
        """How the value about to be read is named in its parent: an index, a key, or None (the root)."""
        if not self.stack:
            return None
        container, _label, key, _lines = self.stack[-1]
        if isinstance(container, list):
            return len(container)
        return None if key is _NO_KEY else key[1]

    def skip(self, event, cls):
        if cls in self.starts:
            self.skipping += 1
        elif cls in self.ends:
            self.skipping -= 1
            if not self.skipping:
                self.add(None, event)

    def problem(self, event, cls):
        """Why ``event`` is a construct an accounts file never needs, or None."""
        if cls is self.alias:
            return f"alias *{event.anchor} at line {_line(event)}: {_REPEATS}"
        if event.anchor is not None:
            return f"anchor &{event.anchor} at line {_line(event)}: {_REPEATS}"
        if event.tag is not None and event.tag != "!":  # "!": a quoted value, read as text
            return (f"tag {event.tag} at line {_line(event)}: tags are refused (an accounts file never needs them):"
                    " write plain values")
        if cls is self.scalar_event:
            if len(event.value) > MAX_SCALAR_CHARS:
                return (f"a value of {len(event.value)} characters at line {_line(event)}: over the"
                        f" {MAX_SCALAR_CHARS} any field of an accounts file needs")
            return None
        if self.stack and self.stack[-1][2] is _NO_KEY and isinstance(self.stack[-1][0], dict):
            what = "mapping" if cls is self.mapping_start else "list"
            return f"a {what} as a key at line {_line(event)}: keys are plain names"
        if len(self.stack) >= MAX_DEPTH:
            self.done = True  # nothing more of this file is worth reading
            return f"nested deeper than {MAX_DEPTH} levels at line {_line(event)}: an accounts file needs 4"
        return None

    def scalar(self, event):
        value = event.value
        if not event.implicit[0] or (self.typed_first is not None and value and value[0] not in self.typed_first):
            return value  # quoted, or plain text that no implicit type can claim
        if _DECIMAL.match(value):  # what YAML 1.1 reads as a decimal integer (0123 would be octal)
            return int(value)
        if value in self.typed:
            return self.typed[value]
        result = self.typed_scalar(event)
        if result is _REFUSED:  # reported where it is: never from the cache
            return None
        if len(self.typed) < 10000:
            self.typed[value] = result
        return result

    def typed_scalar(self, event):
        value = event.value
        nodes = self.yaml.nodes
        tag = self.resolver.resolve(nodes.ScalarNode, value, event.implicit)
        name = tag.rsplit(":", 1)[-1]
        line = event.start_mark.line + 1
        if name == "merge":
            self.refuse(key_path(self.here(event)), f"merge key {value!r} at line {line}: {_REPEATS}")
            return _REFUSED
        if name not in _PLAIN_TAGS:  # '=' (YAML 1.1's value key): never meant in an accounts file
            self.refuse(key_path(self.here(event)),
                        f"{value!r} at line {line} reads as a YAML {name}: quote it if it is meant as text")
            return _REFUSED
        if name == "str":
            return value
        node = nodes.ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
        try:
            return self.constructor.yaml_constructors[tag](self.constructor, node)
        except (ValueError, self.yaml.YAMLError) as exc:  # e.g. a date such as 2026-02-30
            self.refuse(key_path(self.here(event)), f"{value!r} at line {line} is not a valid {name}: {exc}")
            return _REFUSED

    def add(self, value, event):
        """``value`` (read from ``event``) goes into the open collection, as a key or a value."""
        if not self.stack:
            self.root = value
            return
        entry = self.stack[-1]
        container, _label, key, lines = entry
        if isinstance(container, list):
            container.append(value)
        elif key is _NO_KEY:
            label = event.value if event.__class__ is self.scalar_event else "(key)"
            entry[2] = (value, label, event.start_mark.line + 1)
        else:
            entry[2] = _NO_KEY
            key_value, label, line = key
            if key_value in lines:
                self.refuse(key_path([e[1] for e in self.stack[1:]] + [label]),
                            f"duplicate key {label!r} (first at line {lines[key_value]}, again at line {line}):"
                            " YAML would silently keep only the last one")
            else:
                lines[key_value] = line
                container[key_value] = value


def _line(event):
    return event.start_mark.line + 1


def _parser(yaml_module):
    """libyaml's parser when PyYAML has it (about 20 times faster), else PyYAML's own."""
    return getattr(yaml_module, "CSafeLoader", None) or yaml_module.SafeLoader


def load_yaml_strict(text, yaml_module):
    """Parse one YAML document into plain data (mappings, lists, strings, numbers, booleans, dates, null).

    Returns ``(data, problems)``, ``problems`` a list of ``(key path, message)`` for each construct an
    accounts file never needs (see ``_Reader``); the data is only meaningful when there is none. A
    syntax error raises ``yaml_module.YAMLError`` as ``safe_load`` does. Time and memory are linear
    in the length of ``text``: nothing is expanded, nothing is recursive.
    """
    reader = _Reader(yaml_module)
    data = reader.read(yaml_module.parse(text, Loader=_parser(yaml_module)))
    return data, reader.problems
