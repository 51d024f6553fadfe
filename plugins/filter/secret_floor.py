# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The secret-strength floor that every role's preflight applies (filter ``secret_problems``).

A secret is refused when it is empty, not text, a known placeholder or default (CHANGE_ME, changeme,
password, omero, the variable's own name...), shorter than its kind's minimum length, a repeated or
sequential string, made of too few distinct characters, or below its kind's estimated strength in bits.

The estimate is deliberately simple and conservative: known weak words (placeholders, service names, the
variable's own name, keyboard rows and alphabet runs of 4+ characters, leetspeak included) cost
``WORD_BITS`` each; every other character costs log2 of the pool of its character classes (26 lower, 26
upper, 10 digits, 33 symbols), except a character that repeats or continues the previous one (a, a / a, b
/ 3, 2, case-sensitive), which costs one bit. The floors (password 56 bits, key 112) refuse fewer than 1 in
100 random 12-character letters-and-digits passwords and random 32-character hexadecimal keys (chance
words cost them bits); a value from scripts/local-secrets scores 100+ bits.

The messages name the variable, the reasons and where to set it; they never contain the value nor any part
of it (not even its length). Use under ``no_log: true`` and assert on the returned list::

    - name: Judge the secrets without printing them
      ansible.builtin.set_fact:
        _postgresql_secret_problems: "{{ _postgresql_secrets | secret_problems(inventory_dir | default('')) }}"
      vars:
        _postgresql_secrets:
          - {name: postgresql_omero_password, value: "{{ postgresql_omero_password | default(none) }}"}
      no_log: true
"""
import functools
import itertools
import math
import re

# Floors per kind: password (what a person or a service types or stores: database, OMERO, restic, SMTP),
# key (machine secrets: Django's SECRET_KEY, S3 secret access keys), identifier (S3 access key ids: not
# secret on their own, but a placeholder or a made-up short one is a mistake).
KINDS = {
    "password": {"min_length": 12, "min_bits": 56, "min_distinct": 6,
                 "advice": "at least 12 characters and about 56 bits, e.g. 16 random letters and digits"},
    "key": {"min_length": 32, "min_bits": 112, "min_distinct": 10,
            "advice": "at least 32 characters and about 112 bits, e.g. 48 random URL-safe characters"},
    "identifier": {"min_length": 16, "min_bits": 0, "min_distinct": 4,
                   "advice": "the access key id your S3 provider issued (16 characters or more)"},
}
GENERATE = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"

# Placeholders and defaults refused outright (compared lower-case, symbols removed, leetspeak undone).
PLACEHOLDERS = {
    "changeme", "changemenow", "replaceme", "fixme", "todo", "tbd", "xxx", "none", "null", "undefined",
    "password", "passwd", "pass", "secret", "secretkey", "omero", "root", "admin", "administrator",
    "postgres", "postgresql", "default", "example", "test", "letmein", "welcome", "qwerty", "azerty",
    "dummy", "sample", "guest", "restic", "minioadmin", "django", "insecure",
}
# Weak words found inside a value (4+ letters): they cost WORD_BITS each instead of their length.
WEAK_WORDS = sorted(
    PLACEHOLDERS | {"change", "passw", "word", "letme", "omeroweb", "server", "database", "backup", "vault",
                    "public", "private", "master", "login", "monkey", "dragon", "sunshine", "iloveyou",
                    "football", "princess", "azerty", "qwertz", "bonjour", "soleil", "motdepasse", "access",
                    "token", "copy", "spring", "summer", "autumn", "winter", "hiver", "printemps", "automne",
                    "january", "janvier", "september", "septembre", "december", "decembre", "hello", "secure"},
    key=len, reverse=True)
WORD_BITS = 8
SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "01234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm",
             "azertyuiop", "qsdfghjklm", "wxcvbn", "qwertzuiop", "yxcvbnm", "1qaz2wsx3edc")
LEET = {"a": "a4@", "e": "e3", "i": "i1!|", "l": "l1|", "o": "o0", "s": "s5$", "t": "t7+", "g": "g9", "b": "b8"}
CLASSES = ((str.islower, 26), (str.isupper, 26), (str.isdigit, 10))


@functools.cache
def _word_pattern(word):
    """The word in any case, with leetspeak and at most one separator between its letters."""
    parts = [f"[{re.escape(LEET.get(ch, ch))}]" for ch in word]
    return re.compile("[\\W_]?".join(parts), re.IGNORECASE)


def _normalise(text):
    table = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
    return "".join(table.get(ch, ch) for ch in text.lower() if ch.isalnum() or ch in table)


@functools.lru_cache(maxsize=64)
def _weak_words(name, vault):
    words = set(WEAK_WORDS)
    for var in (name, vault):
        words.update(part for part in re.split(r"[^a-z0-9]+", (var or "").lower()) if len(part) >= 4)
    for seq in SEQUENCES:
        for size in range(4, len(seq) + 1):
            for start in range(len(seq) - size + 1):
                words.add(seq[start:start + size])
                words.add(seq[start:start + size][::-1])
    return tuple(sorted(words, key=lambda word: (-len(word), word)))


def _pool(chars):
    pool = 0
    for test, size in CLASSES:
        if any(test(ch) and ch.isascii() for ch in chars):
            pool += size
    if any(not (ch.isascii() and ch.isalnum()) for ch in chars):
        pool += 33
    return max(pool, 2)


def estimate_bits(value, name="", vault=""):
    """Conservative strength estimate in bits (see the module's docstring)."""
    if not value:
        return 0.0
    unit = re.fullmatch(r"(.+?)\1+", value, re.DOTALL)
    if unit:  # a repeated unit is worth its unit and a count
        return estimate_bits(unit.group(1), name, vault) + 2
    covered = [False] * len(value)
    words = 0
    for word in _weak_words(name, vault):
        for match in _word_pattern(word).finditer(value):
            span = range(match.start(), match.end())
            if not any(covered[i] for i in span):
                for i in span:
                    covered[i] = True
                words += 1
    rest = [ch for ch, cov in zip(value, covered) if not cov]
    per_char = math.log2(_pool(rest)) if rest else 0.0
    bits = words * WORD_BITS
    for i, ch in enumerate(value):
        if covered[i]:
            continue
        if i > 0 and abs(ord(ch) - ord(value[i - 1])) <= 1:
            bits += 1
        else:
            bits += per_char
    return bits


def _is_sequential(value):
    low = value.lower()
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(low)}
    return len(low) > 2 and len(steps) == 1 and steps <= {-1, 0, 1}


def reasons(value, name="", vault="", kind="password", min_length=0):
    """The reasons (plain words, never the value) why `value` is refused as a `kind` secret; [] when it passes.

    min_length raises (never lowers) the kind's minimum length, for a service that asks for more.
    """
    floor = dict(KINDS[kind])
    floor["min_length"] = max(floor["min_length"], int(min_length or 0))
    if value is None or (isinstance(value, str) and not value.strip()):
        return ["it is empty or not set"]
    if not isinstance(value, str):
        return [f"it is not text (a {type(value).__name__}): quote it in YAML"]
    found = []
    norm = _normalise(value)
    own = {_normalise(name), _normalise(vault), _normalise(name.rsplit("_", 1)[-1])} - {""}
    if norm in PLACEHOLDERS or norm in own or "changeme" in norm:
        found.append("it is a known placeholder or default")
    if len(value) < floor["min_length"]:
        found.append(f"it is shorter than {floor['min_length']} characters")
    if re.fullmatch(r"(.+?)\1+", value, re.DOTALL):
        found.append("it repeats a shorter string")
    elif _is_sequential(value):
        found.append("it is a run of repeated or consecutive characters")
    if len(set(value)) < floor["min_distinct"]:
        found.append(f"it has fewer than {floor['min_distinct']} distinct characters")
    if floor["min_bits"] and not found:
        bits = estimate_bits(value, name, vault)
        if bits < floor["min_bits"]:
            found.append(f"it is too predictable (about {int(bits)} bits estimated, {floor['min_bits']} needed: common "
                         "words, keyboard or alphabet runs and repeats count for little)")
    return found


def _where(inventory_dir):
    if inventory_dir:
        return str(inventory_dir).rstrip("/") + "/group_vars/all/vault.yml"
    return "the inventory's group_vars/all/vault.yml"


def secret_problems(secrets, inventory_dir=""):
    """One message per refused secret of `secrets` (a list of {name, value, kind, vault, enabled}).

    name: the role variable; value: its value; kind: password (default), key or identifier; vault: the
    vault variable to set (default vault_<name>); enabled: false to skip the entry (e.g. S3 keys without an
    s3: repository); min_length: a higher minimum length than the kind's. The messages name the variable and where to set it, never the value.
    """
    messages = []
    for entry in secrets or []:
        name = str(entry["name"])
        if not _truthy(entry.get("enabled", True)):
            continue
        kind = entry.get("kind") or "password"
        if kind not in KINDS:
            raise ValueError(f"secret_problems: unknown kind {kind!r} for {name} (use {', '.join(KINDS)})")
        vault = entry.get("vault") or "vault_" + name
        min_length = int(entry.get("min_length") or 0)
        found = reasons(entry.get("value"), name, vault, kind, min_length)
        if found:
            advice = KINDS[kind]["advice"]
            if min_length > KINDS[kind]["min_length"]:
                advice = f"at least {min_length} characters ({advice})"
            hint = "" if kind == "identifier" else f"; generate one with {GENERATE}"
            messages.append(f"{name} is refused: {'; '.join(found)}. Set {vault} in {_where(inventory_dir)} "
                            f"(ansible-vault encrypted) to {advice}{hint}.")
    return messages


def _truthy(flag):
    if isinstance(flag, str):
        return flag.strip().lower() in ("1", "true", "yes", "on")
    return bool(flag)


class FilterModule:
    """The secret-strength floor."""

    def filters(self):
        return {"secret_problems": secret_problems}
