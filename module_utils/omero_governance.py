# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The data management plan's lifecycle rules, in pure Python (no omero import).

Used by three callers:

* the inventory validator (``governance_problems``: ``retention_extensions`` and ``transfers`` files);
* ``scripts/governance-inventory`` (``governance_config``: the inventory facts the server-side runner
  needs, as JSON);
* the runner on the OMERO.server host (``roles/governance/files/omero-governance``), which reads the
  server in one session, then calls ``compute`` to know what is due, ``pending`` to drop what was
  already sent, ``mark_sent`` after the relay accepted a notice, and ``report_rows`` for the CSV.

Every rule takes ``today`` as an argument so that the tests fix it.

Rules (the DMP, ``dmp-mica-omero.txt``):

* external groups: notices at 80 % and 100 % of the quota, 7 days before expiry and at expiry (its
  external members then lose their login when ``expiry_policy`` is ``disable_login``; nothing is
  deleted);
* retention: projects, datasets in no project, images in no dataset and no plate, screens and plates
  in no screen (HCS: a plate's images are counted as the plate, a screened plate as its screen)
  imported more than 5 years ago are listed to their owner (copy: the team leader) at most once per
  item per month, unless an extension (``retention_extensions``, at most one year past the 5; ``Plate:``
  and ``Screen:`` included) covers them;
* account review: in September and January each site's referents receive their site's active
  accounts (groups, last login, data volume), those without a login of their own (an administrator's
  sudo session is not one) for 12 months flagged.
"""

import datetime
import re

from omero_accounts_base import Problem, collect, parse_date, settings_of

QUOTA_THRESHOLDS = (80, 100)
EXPIRY_WARNING_DAYS = 7
RETENTION_YEARS = 5
EXTENSION_MAX_YEARS = 1
REVIEW_MONTHS = (9, 1)
INACTIVE_MONTHS = 12
EXPIRY_POLICIES = ("disable_login", "notify_only")
GB = 1000 ** 3

# Objects a retention extension or a transfer may name: <Type>:<id>, or a whole group.
OBJECT_RE = re.compile(r"^(Project|Dataset|Image|Screen|Plate):([1-9][0-9]*)$")
GROUP_RE = re.compile(r"^group:([A-Za-z][A-Za-z0-9._-]{1,63})$")
GOVERNANCE_KINDS = ("retention_extensions", "transfers")


# --------------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------------

def add_years(date, years):
    """``date`` plus ``years`` calendar years (29 February becomes 28 February)."""
    try:
        return date.replace(year=date.year + years)
    except ValueError:
        return date.replace(year=date.year + years, day=28)


def add_months(date, months):
    index = date.year * 12 + date.month - 1 + months
    year, month = divmod(index, 12)
    for day in (date.day, 30, 29, 28):
        try:
            return datetime.date(year, month + 1, day)
        except ValueError:
            continue
    raise ValueError("unreachable")


def to_date(value):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if value in (None, ""):
        return None
    return parse_date(str(value)[:10])


def retention_cutoff(today, years=RETENTION_YEARS):
    """Data created before this date is older than ``years`` years on ``today``."""
    return add_years(today, -years)


def month_period(today):
    return f"{today.year:04d}-{today.month:02d}"


# --------------------------------------------------------------------------------------------------
# Validation of the inventory's governance files
# --------------------------------------------------------------------------------------------------

def governance_problems(documents):
    """Cross-file checks of ``retention_extensions`` and ``transfers`` (the schema checks the shapes).

    Returns a list of ``Problem``. Whether an object exists on the server is checked again by the
    accounts module when it applies a transfer (the model's ``transfer_problems``): the inventory cannot know it.
    """
    problems = []
    by_kind = collect(documents)
    people = {}
    for _path, entries in by_kind.get("people", []):
        for person in entries or []:
            if isinstance(person, dict) and person.get("omename"):
                people.setdefault(person["omename"], person)
    groups = _group_names(by_kind)

    for path, entries in by_kind.get("retention_extensions", []):
        seen = {}
        for i, ext in enumerate(entries or []):
            key = f"retention_extensions[{i}]"
            what = ext.get("what", "")
            match_obj, match_group = OBJECT_RE.match(str(what)), GROUP_RE.match(str(what))
            if not (match_obj or match_group):
                problems.append(Problem(path, f"{key}.what", f"{what!r} is not <Project|Dataset|Image|Screen|Plate>:<id> or group:<name>"))
            elif match_group and match_group.group(1) not in groups:
                problems.append(Problem(path, f"{key}.what", f"unknown group {match_group.group(1)!r}"))
            if what in seen:
                problems.append(Problem(path, f"{key}.what", f"{what!r} already extended in retention_extensions[{seen[what]}]"))
            seen.setdefault(what, i)
            created, until = to_date(ext.get("created")), to_date(ext.get("until"))
            if created is None:
                problems.append(Problem(path, f"{key}.created", "not a date (YYYY-MM-DD): the import date of the data"))
            if until is None:
                problems.append(Problem(path, f"{key}.until", "not a date (YYYY-MM-DD)"))
            if created and until:
                end = add_years(created, RETENTION_YEARS)
                latest = add_years(created, RETENTION_YEARS + EXTENSION_MAX_YEARS)
                if until > latest:
                    problems.append(Problem(path, f"{key}.until",
                                            f"{until} is more than {EXTENSION_MAX_YEARS} year past the {RETENTION_YEARS}-year retention (data of {created}: latest {latest})"))
                elif until <= end:
                    problems.append(Problem(path, f"{key}.until",
                                            f"{until} is within the {RETENTION_YEARS}-year retention (ends {end}): no extension needed"))
            if not str(ext.get("why") or "").strip():
                problems.append(Problem(path, f"{key}.why", "give the reason of the extension"))

    transfer_ids = {}
    for path, entries in by_kind.get("transfers", []):
        for i, transfer in enumerate(entries or []):
            key = f"transfers[{i}]"
            tid = transfer.get("id")
            if tid in transfer_ids:
                problems.append(Problem(path, f"{key}.id", f"duplicate transfer id {tid!r} (first in {transfer_ids[tid]})"))
            transfer_ids.setdefault(tid, path)
            source, target = transfer.get("from"), transfer.get("to")
            if source not in people:
                problems.append(Problem(path, f"{key}.from", f"unknown account {source!r} (not in any people file)"))
            if target not in people:
                problems.append(Problem(path, f"{key}.to", f"unknown account {target!r} (not in any people file)"))
            elif people[target].get("status") != "active":
                problems.append(Problem(path, f"{key}.to", f"{target!r} is not active: the target of a transfer must be"))
            if source is not None and source == target:
                problems.append(Problem(path, f"{key}.to", "the same account as from"))
            objects = transfer.get("objects") or []
            for j, obj in enumerate(objects):
                if not OBJECT_RE.match(str(obj)):
                    problems.append(Problem(path, f"{key}.objects[{j}]", f"{obj!r} is not <Project|Dataset|Image|Screen|Plate>:<id>"))
            if len(set(map(str, objects))) != len(objects):
                problems.append(Problem(path, f"{key}.objects", "lists an object twice"))
    return problems


def _group_names(by_kind):
    names = set()
    for _path, team in by_kind.get("team", []):
        if isinstance(team, dict) and team.get("name"):
            names.update({team["name"]} | {g.get("name") for g in team.get("collaboration_groups") or [] if isinstance(g, dict)})
    for _path, pub in by_kind.get("public_group", []):
        if isinstance(pub, dict):
            names.add(pub.get("name"))
    for _path, ext in by_kind.get("external_groups", []):
        for group in ext or []:
            if isinstance(group, dict):
                names.add(group.get("name"))
    names.discard(None)
    return names


def expired_external_logins(documents, today, policy="disable_login"):
    """Omenames whose login the expiry of their external group disables (for the accounts model:
    ``expand`` must not make them active again). A person keeps the login while they are in a team,
    the public group, the referents or an unexpired external group, or own the expired group."""
    if policy != "disable_login":
        return []
    by_kind = collect(documents)
    kept = set()
    for _path, team in by_kind.get("team", []):
        for field in ("leader", "members", "facility_staff", "external_collaborators"):
            value = team.get(field)
            kept.update([value] if isinstance(value, str) else value or [])
        for extra in team.get("collaboration_groups") or []:
            kept.update(extra.get("members") or [])
    for _path, pub in by_kind.get("public_group", []):
        kept.update((pub.get("owners") or []) + (pub.get("members") or []))
    for _path, ref in by_kind.get("referents", []):
        kept.update(ref.get("members") or [])
    leaving = set()
    for _path, groups in by_kind.get("external_groups", []):
        for g in groups or []:
            expires = to_date(g.get("expires"))
            owners = set(g.get("owners") or [])
            if expires is not None and expires < today:
                leaving.update(set(g.get("members") or []) - owners)
            else:
                kept.update(owners | set(g.get("members") or []))
    return sorted(leaving - kept)


# --------------------------------------------------------------------------------------------------
# The inventory facts the runner needs
# --------------------------------------------------------------------------------------------------

def governance_config(documents):
    """Plain JSON-able facts from validated accounts documents, for the runner on the server host."""
    by_kind = collect(documents)
    people = {}
    for _path, entries in by_kind.get("people", []):
        for p in entries or []:
            people.setdefault(p["omename"], {
                "name": f"{p.get('first_name', '')} {p.get('last_name', '')}".strip(),
                "email": p.get("email") or "", "site": p.get("site") or "", "status": p.get("status", "active")})
    teams = {}
    for _path, team in by_kind.get("team", []):
        info = {"leader": team.get("leader"), "site": team.get("site")}
        teams[team["name"]] = info
        teams[team["name"] + settings_of(by_kind)["collaboration_suffix"]] = info
        for extra in team.get("collaboration_groups") or []:
            teams[extra["name"]] = info
    external = []
    for _path, entries in by_kind.get("external_groups", []):
        for g in entries or []:
            external.append({k: g.get(k) for k in ("name", "site", "created", "expires", "quota_gb", "billed")}
                            | {"owners": list(g.get("owners") or []), "members": list(g.get("members") or [])})
    referents = []
    for _path, ref in by_kind.get("referents", []):
        referents.extend(ref.get("members") or [])
    extensions = []
    for _path, entries in by_kind.get("retention_extensions", []):
        extensions.extend(dict(e) for e in entries or [])
    transfers = []
    for _path, entries in by_kind.get("transfers", []):
        transfers.extend(dict(t) for t in entries or [])
    return {"people": people, "teams": teams, "external_groups": sorted(external, key=lambda g: g["name"]),
            "referents": sorted(set(referents)), "retention_extensions": extensions, "transfers": transfers}


# --------------------------------------------------------------------------------------------------
# What is due
# --------------------------------------------------------------------------------------------------

def _notice(kind, item, period, to, cc, subject, lines, items=None):
    items = list(items) if items is not None else [item]
    return {"kind": kind, "item": item, "period": period, "to": sorted(set(filter(None, to))),
            "cc": sorted(set(filter(None, cc)) - set(filter(None, to))), "subject": subject,
            "lines": list(lines), "items": items,
            "keys": [f"{kind}|{i}|{period}" for i in items]}


def _emails(config, names):
    return [config["people"].get(n, {}).get("email") for n in names]


def group_usage(server):
    """Bytes used per group id (DiskUsage2's totalBytesUsed summed over owners)."""
    out = {}
    for _uid, gid, size in server.get("usage", []):
        out[gid] = out.get(gid, 0) + int(size)
    return out


def user_usage(server):
    out = {}
    for uid, _gid, size in server.get("usage", []):
        out[uid] = out.get(uid, 0) + int(size)
    return out


def external_group_notices(config, server, today, support, policy="disable_login"):
    """Quota (80 %, 100 %), 7 days before expiry, at expiry. Returns ``(notices, deactivate, rows)``."""
    gid_of = {g["name"]: gid for gid, g in server.get("groups", {}).items()}
    usage = group_usage(server)
    notices, deactivate, rows = [], [], []
    other_groups = {}
    for name, user in server.get("users", {}).items() if isinstance(server.get("users"), dict) else []:
        other_groups[user["omename"]] = set(user.get("groups") or [])
    external_names = {g["name"] for g in config["external_groups"]}
    for g in config["external_groups"]:
        name = g["name"]
        created, expires = to_date(g["created"]), to_date(g["expires"])
        quota_gb = float(g.get("quota_gb") or 100)
        used = usage.get(gid_of.get(name), 0)
        percent = 100.0 * used / (quota_gb * GB) if quota_gb else 0.0
        to = _emails(config, g.get("owners") or [])
        period = g["expires"]  # one lifetime: a threshold is announced once per group
        for threshold in sorted(QUOTA_THRESHOLDS, reverse=True):
            if percent >= threshold:
                notices.append(_notice(
                    f"quota-{threshold}", name, period, to, [support],
                    f"[OMERO] Group {name}: {percent:.0f} % of its {quota_gb:g} GB quota used",
                    [f"The external group {name} ({g.get('site', '')}) uses {used / GB:.2f} GB of its {quota_gb:g} GB quota ({percent:.1f} %).",
                     "At 100 % no more data should be imported; ask the facility to archive or remove data." if threshold >= 100
                     else f"It has passed {threshold} % of its quota."]))
                break
        days_left = (expires - today).days
        expired = days_left < 0
        if 0 <= days_left <= EXPIRY_WARNING_DAYS:
            notices.append(_notice(
                "expiry-warning", name, period, to, [support],
                f"[OMERO] Group {name} expires on {expires} ({days_left} day(s) left)",
                [f"The external group {name} ({g.get('site', '')}) expires on {expires}.",
                 "After that date its external members can no longer log in; their data is kept."
                 if policy == "disable_login" else "Its data is kept; nothing is deleted automatically.",
                 "Ask the facility before then to extend it or to collect the data."]))
        members = [m for m in g.get("members") or [] if m not in (g.get("owners") or [])]
        if expired:
            # A member keeps their login while they belong to another, non-external group.
            leaving = sorted(m for m in members
                             if not (other_groups.get(m, set()) - external_names - {"user", "system", "guest"}))
            if policy == "disable_login":
                deactivate.extend(leaving)
            notices.append(_notice(
                "expired", name, period, to, [support],
                f"[OMERO] Group {name} expired on {expires}",
                [f"The external group {name} ({g.get('site', '')}) expired on {expires}.",
                 ("Its external members can no longer log in: " + (", ".join(leaving) or "none") + ".")
                 if policy == "disable_login" else "Its members keep their login (expiry_policy: notify_only).",
                 "Its data is kept; nothing is deleted automatically."], items=[name]))
        lifetime_end = min(today, expires)
        rows.append({"section": "external group", "subject": name, "detail": f"{created} to {expires}",
                     "value": f"{used / GB:.3f} GB of {quota_gb:g} GB ({percent:.1f} %)",
                     "flag": "expired" if expired else (f"expires in {days_left} d" if days_left <= EXPIRY_WARNING_DAYS else ""),
                     "cost": f"{max((lifetime_end - created).days, 0)} days, {used / GB:.3f} GB"})
    return notices, sorted(set(deactivate)), rows


def extension_until(extensions, obj, group_name):
    """The latest ``until`` among the extensions naming ``obj`` ("Project:1") or its group."""
    dates = [to_date(e.get("until")) for e in extensions
             if e.get("what") in (obj, f"group:{group_name}")]
    dates = [d for d in dates if d]
    return max(dates) if dates else None


def retention_notices(config, server, today, support):
    """Per owner, the items older than the retention not covered by an extension (period: the month)."""
    cutoff = retention_cutoff(today)
    users = server.get("users", {})
    groups = server.get("groups", {})
    per_owner = {}
    rows = []
    for c in server.get("containers", []):
        created = to_date(c.get("created"))
        if created is None or created >= cutoff:
            continue
        obj = f"{c['type']}:{c['id']}"
        group_name = groups.get(c["group"], {}).get("name", str(c["group"]))
        owner = users.get(c["owner"], {}).get("omename", str(c["owner"]))
        until = extension_until(config["retention_extensions"], obj, group_name)
        limit = add_years(created, RETENTION_YEARS + EXTENSION_MAX_YEARS)
        if until is not None:
            until = min(until, limit)  # an extension never goes past one year beyond the five
        extended = until is not None and until >= today
        rows.append({"section": "retention", "subject": f"{owner} / {group_name}", "detail": f"{obj} {c.get('name') or ''}".strip(),
                     "value": f"imported {created}", "flag": f"extended until {until}" if extended else "over 5 years",
                     "cost": ""})
        if extended:
            continue
        per_owner.setdefault((owner, group_name), []).append((obj, c.get("name") or "", created))
    notices = []
    period = month_period(today)
    for (owner, group_name), items in sorted(per_owner.items()):
        person = config["people"].get(owner, {})
        leader = config["teams"].get(group_name, {}).get("leader")
        to = [person.get("email")] if person.get("email") and person.get("status", "active") == "active" else [support]
        cc = _emails(config, [leader]) if leader and leader != owner else []
        items.sort()
        notices.append(_notice(
            "retention", f"{owner}/{group_name}", period, to, cc,
            f"[OMERO] {len(items)} item(s) of {owner} in {group_name} older than {RETENTION_YEARS} years",
            [(f"These data of {owner} in the group {group_name} were imported more than {RETENTION_YEARS} years ago "
             f"(before {cutoff}). The data management plan keeps data {RETENTION_YEARS} years; an extension of at most "
             f"{EXTENSION_MAX_YEARS} year can be requested from the platform (retention_extensions)."), ""]
            + [f"  {obj}  imported {created}  {name}" for obj, name, created in items],
            items=[obj for obj, _n, _c in items]))
    return notices, rows


def review_notices(config, server, today, support, inactive_months=INACTIVE_MONTHS):
    """In a review month: per site, the active accounts (to the site's referents)."""
    rows = []
    notices = []
    usage = user_usage(server)
    by_name = {u["omename"]: (uid, u) for uid, u in server.get("users", {}).items()}
    inactive_before = add_months(today, -inactive_months)
    sites = {}
    for name, person in sorted(config["people"].items()):
        if person.get("status") != "active":
            continue
        uid, user = by_name.get(name, (None, {}))
        if uid is None or not user.get("active", True):
            continue
        last = to_date(user.get("last_login"))
        flag = "no login ever" if last is None else ("no login for 12 months" if last < inactive_before else "")
        groups = sorted(g for g in user.get("groups") or [] if g not in ("user", "system", "guest"))
        entry = {"name": name, "full_name": person.get("name", ""), "groups": groups,
                 "last_login": str(last) if last else "never", "bytes": usage.get(uid, 0), "flag": flag}
        sites.setdefault(person.get("site") or "(no site)", []).append(entry)
        rows.append({"section": "review", "subject": f"{person.get('site', '')}: {name}", "detail": ", ".join(groups),
                     "value": f"last login {entry['last_login']}, {entry['bytes'] / GB:.3f} GB", "flag": flag, "cost": ""})
    if today.month not in REVIEW_MONTHS:
        return notices, rows
    period = month_period(today)
    for site, entries in sorted(sites.items()):
        refs = [r for r in config["referents"] if config["people"].get(r, {}).get("site") == site]
        to = _emails(config, refs) or [support]
        flagged = [e for e in entries if e["flag"]]
        notices.append(_notice(
            "review", site, period, to, [support] if not refs else [],
            f"[OMERO] Account review {period}: {site} ({len(entries)} active, {len(flagged)} flagged)",
            [(f"Active OMERO accounts of {site} on {today}. Please check them and mark departures "
             "(status: departed) in a pull request on the accounts inventory."), ""]
            + ["  {:<16} {:<28} groups: {:<30} last login: {:<10} {:>9.3f} GB {}".format(
                e["name"], e["full_name"], ", ".join(e["groups"]) or "-", e["last_login"], e["bytes"] / GB,
                ("<- " + e["flag"]) if e["flag"] else "").rstrip() for e in entries],
            items=[site]))
    return notices, rows


def compute(config, server, today, support, policy="disable_login"):
    """Everything due on ``today``: ``{"notices", "deactivate", "rows"}`` (before de-duplication)."""
    if policy not in EXPIRY_POLICIES:
        raise ValueError(f"expiry policy {policy!r} not in {EXPIRY_POLICIES}")
    ext_notices, deactivate, ext_rows = external_group_notices(config, server, today, support, policy)
    ret_notices, ret_rows = retention_notices(config, server, today, support)
    rev_notices, rev_rows = review_notices(config, server, today, support)
    usage = group_usage(server)
    usage_rows = [{"section": "usage", "subject": g["name"], "detail": f"group {gid}",
                   "value": f"{usage.get(gid, 0) / GB:.3f} GB", "flag": "", "cost": ""}
                  for gid, g in sorted(server.get("groups", {}).items(), key=lambda kv: kv[1]["name"])]
    return {"notices": ext_notices + ret_notices + rev_notices, "deactivate": deactivate,
            "rows": usage_rows + ext_rows + ret_rows + rev_rows}


# --------------------------------------------------------------------------------------------------
# De-duplication: the state kept on the server host
# --------------------------------------------------------------------------------------------------

def new_state():
    return {"version": 1, "sent": {}, "history": {}, "deactivated": {}, "transfers": {}}


def pending(notices, state):
    """The notices (or parts of them) not sent yet in their period. A notice whose items were all
    sent is dropped; one with some items sent keeps only the others."""
    sent = state.get("sent", {})
    out = []
    for n in notices:
        keep = [(item, key) for item, key in zip(n["items"], n["keys"]) if key not in sent]
        if not keep:
            continue
        if len(keep) != len(n["items"]):
            n = dict(n, items=[i for i, _k in keep], keys=[k for _i, k in keep],
                     lines=[line for line in n["lines"] if not line.startswith("  ") or any(f"  {i} " in line + " " for i, _k in keep)])
        out.append(n)
    return out


def mark_sent(state, notice, today):
    for key in notice["keys"]:
        state.setdefault("sent", {})[key] = str(today)


def record_usage(state, today, server, keep_days=3 * 366):
    """Keep one usage sample per day (total and per group) for the growth plot."""
    usage = group_usage(server)
    names = {gid: g["name"] for gid, g in server.get("groups", {}).items()}
    state.setdefault("history", {})[str(today)] = {
        "total": sum(usage.values()), "groups": {names.get(gid, str(gid)): size for gid, size in sorted(usage.items())}}
    oldest = str(today - datetime.timedelta(days=keep_days))
    for day in [d for d in state["history"] if d < oldest]:
        del state["history"][day]


def prune_sent(state, today, keep_days=2 * 366):
    """Forget sent markers older than any period they can belong to."""
    oldest = str(today - datetime.timedelta(days=keep_days))
    for key in [k for k, v in state.get("sent", {}).items() if v < oldest]:
        del state["sent"][key]


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------

REPORT_COLUMNS = ("section", "subject", "detail", "value", "flag", "cost",
                  # billing rows only (module omero_governance_billing): the period, days used, GB-days
                  "billing_period", "days_used", "gb_days")


def report_rows(result):
    return [{c: str(r.get(c, "")) for c in REPORT_COLUMNS} for r in result["rows"]]


def growth_svg(history, width=640, height=200):
    """An inline SVG line of the total bytes per day (no plotting library on the server host)."""
    days = sorted(history)
    if not days:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"><text x="10" y="20">no samples yet</text></svg>'
    return line_svg(days, [history[d]["total"] / GB for d in days], "total usage per day", "", width, height)


def line_svg(days, values, label, title, width, height, color="#1f77b4"):
    """An inline SVG line of ``values`` (GB) over ``days`` (at least one), the top value and the first and last day
    written on it; ``label``: its accessible name, ``title``: text before the top value."""
    top = max(values) or 1
    pad = 30
    n = len(days)

    def x(i):
        return pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)

    def y(v):
        return height - pad - (height - 2 * pad) * v / top

    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="{label}">'
            f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"/>'
            f'<text x="{pad}" y="15" font-size="12">{title}{top:.3f} GB</text>'
            f'<text x="{pad}" y="{height - 8}" font-size="12">{days[0]}</text>'
            f'<text x="{width - pad}" y="{height - 8}" font-size="12" text-anchor="end">{days[-1]}</text></svg>')
