"""Accounts trees of about 1 MB that a validator must answer fast: hostile YAML and floods of wrong entries.

Each generator writes ``<root>/accounts/...`` (``size``: the bytes to reach, about) and returns what
``scripts/validate-inventory`` must say first: ``(file relative to root, key path, message start)``;
``None`` for the one tree that is valid (it must be accepted). Used by
tests/unit/test_validate_inventory_hostile.py and benchmarks/validate_inventory.py.
"""
import os
import pathlib

import yaml

SIZE = 1_000_000  # bytes: "any accounts tree under 1 MB" (the validator reads up to 1 MiB)
ANCHORS = "anchors, aliases and merge keys are refused"


def _write(root, relative, text):
    path = pathlib.Path(root) / "accounts" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return f"accounts/{relative}"


def _repeat(line, size, head=""):
    return head + line * max(1, (size - len(head)) // len(line))


def billion_laughs(root, size=SIZE):
    """The classic: each anchor a list of nine aliases of the previous one, then more of them to fill."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    total, i = len(lines[0]) + 1, 1
    while total < size:
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
        total += len(lines[-1]) + 1
        i += 1
    return _write(root, "people.yml", "\n".join(lines) + "\n"), "a0", f"anchor &a0 at line 1: {ANCHORS}"


def alias_fan_out(root, size=SIZE):
    """One anchored list of half the size, aliased as often as the other half allows."""
    half = size // 2
    text = "base: &b [" + ", ".join(["xxxxxxxx"] * (half // 10)) + "]\npeople: ["
    text += ", ".join(["*b"] * ((size - len(text)) // 4)) + "]\n"
    return _write(root, "people.yml", text), "base", f"anchor &b at line 1: {ANCHORS}"


def merge_keys(root, size=SIZE):
    text = _repeat("  - <<: {omename: x, first_name: y}\n    last_name: z\n", size, "people:\n")
    return _write(root, "people.yml", text), "people[0].<<", f"merge key '<<' at line 2: {ANCHORS}"


def tags(root, size=SIZE):
    text = _repeat("  - !!python/object/apply:os.system [echo owned]\n", size, "people:\n")
    return (_write(root, "people.yml", text), "people[0]",
            "tag tag:yaml.org,2002:python/object/apply:os.system at line 2: tags are refused")


def deep_flow_nesting(root, size=SIZE):
    """Lists in lists, 900 deep (libyaml's own limit is 1000), line after line."""
    text = _repeat("  - " + "[" * 900 + "]" * 900 + "\n", size, "people:\n")
    return _write(root, "people.yml", text), "people" + "[0]" * 9, "nested deeper than 10 levels at line 2"


def deep_block_nesting(root, size=SIZE):
    lines, indent, total = [], 0, 0
    while total < size:
        lines.append(" " * indent + "team:")
        total += indent + 6
        indent += 1
    lines.append(" " * indent + "team: x")
    return _write(root, "teams/deep.yml", "\n".join(lines) + "\n"), ".".join(["team"] * 10), "nested deeper than 10 levels at line 11"


def duplicate_keys(root, size=SIZE):
    text = _repeat("  name: team-a\n", size, "team:\n")
    return (_write(root, "teams/team-a.yml", text), "team.name",
            "duplicate key 'name' (first at line 2, again at line 3): YAML would silently keep only the last one")


def huge_value(root, size=SIZE):
    text = "people:\n  - omename: " + "x" * (size - 40) + "\n"
    return _write(root, "people.yml", text), "people[0].omename", f"a value of {size - 40} characters at line 2: over the 2000"


def many_documents(root, size=SIZE):
    text = _repeat("---\npeople: []\n", size)
    return _write(root, "people.yml", text), "(file)", "a second YAML document at line 3: an accounts file holds exactly one"


def many_files(root, size=SIZE):
    """Many small files (each a valid team), more than the validator reads."""
    for i in range(min(3000, size // 60)):
        _write(root, f"teams/t{i:04d}.yml", f"team: {{name: t{i:04d}, site: x, leader: u{i:04d}}}\n")
    return "accounts", "(directory)", "more than 2000 files and directories"


def schema_flood(root, size=SIZE):
    """Hundreds of thousands of entries, each wrong: reported per file up to the limit."""
    text = _repeat("  - {}\n", size, "people:\n")
    return _write(root, "people.yml", text), "people[0]", "'omename' is required"


def mixed_list(root, size=SIZE):
    """A list that cannot be sorted (numbers, texts, mappings): jsonschema compares such items pairwise."""
    items, total, i = [], 0, 0
    while total < size - 40:
        items.extend([str(i), f"u{i}", f"{{k: {i}}}"])
        total += sum(len(x) + 2 for x in items[-3:])
        i += 1
    text = "referents:\n  members: [" + ", ".join(items) + "]\n"
    return _write(root, "referents.yml", text), "referents.members[0]", "0 is not of type 'string'"


def slow_email(root, size=SIZE):
    """E-mail addresses that make a backtracking pattern quadratic: many dots, no end."""
    entry = ("  - {{omename: u{:05d}, first_name: A, last_name: B, site: S, status: active, "
             "email: 'a@" + "b." * 110 + "b '}}\n")
    lines = ["people:\n"] + [entry.format(i) for i in range((size - 10) // len(entry.format(0)))]
    return _write(root, "people.yml", "".join(lines)), "people[0].email", "'a@b.b.b."


def unknown_keys(root, size=SIZE):
    lines = ["team:\n  name: t\n  site: s\n  leader: a\n"]
    total, i = len(lines[0]), 0
    while total < size - 20:
        lines.append(f"  k{i}: v\n")
        total += len(lines[-1])
        i += 1
    return _write(root, "teams/t.yml", "".join(lines)), "team", "unknown key(s) ("


def unknown_people(root, size=SIZE):
    """Schema-valid, but every member unknown: reported per file up to the limit."""
    _write(root, "people.yml", "people:\n  - {omename: lead, first_name: A, last_name: B, email: a@b.org, site: S,"
                               " status: active}\n")
    members = [f"u{i:06d}" for i in range((size - 200) // 9)]
    text = f"team:\n  name: team-t\n  site: s\n  leader: lead\n  members: [{', '.join(members)}]\n"
    return _write(root, "teams/t.yml", text), "team.members[0]", "unknown person 'u000000'"


def not_utf8(root, size=SIZE):
    path = pathlib.Path(root) / "accounts" / "people.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(range(128, 256)) * (size // 128))
    return "accounts/people.yml", "(file)", "not UTF-8 text"


def valid_large(root, size=SIZE):
    """A valid tree of about ``size`` bytes: people in teams of twenty, one file per team."""
    per_person = 150
    users = max(40, size // per_person // 20 * 20)
    people = [{"omename": f"user{i:05d}", "first_name": f"First{i}", "last_name": f"Last{i}",
               "email": f"user{i:05d}@example.org", "site": f"Lab {i // 20}", "status": "active"}
              for i in range(users)]
    _write(root, "people.yml", yaml.safe_dump({"people": people}, sort_keys=False, width=200))
    for t in range(users // 20):
        members = [p["omename"] for p in people[t * 20:(t + 1) * 20]]
        _write(root, f"teams/team{t:04d}.yml", yaml.safe_dump(
            {"team": {"name": f"team{t:04d}", "site": f"Lab {t}", "leader": members[0], "members": members[1:]}},
            sort_keys=False))


TREES = {f.__name__: f for f in (
    billion_laughs, alias_fan_out, merge_keys, tags, deep_flow_nesting, deep_block_nesting, duplicate_keys,
    huge_value, many_documents, many_files, schema_flood, mixed_list, slow_email, unknown_keys, unknown_people,
    not_utf8, valid_large)}


def tree_bytes(root):
    """Bytes of the files under ``root``/accounts."""
    return sum(os.path.getsize(os.path.join(d, f)) for d, _dirs, files in os.walk(pathlib.Path(root) / "accounts")
               for f in files)
