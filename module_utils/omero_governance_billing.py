# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Billing of the temporary external groups past their first month (DMP section 6), pure Python.

The DMP: an external group is created for one month and 100 GB; "au-delà, [...] une tarification sera
appliquée sur la base du temps d'utilisation et pour une volumétrie adaptée". For each billing period (the
last complete calendar month) and each external group whose first month ended before the period's last day,
the billable window is the part of the period after the first month; in it:

* days used: the days on which one of the group's members (its owners, the facility's staff, excepted) logged
  in themselves (an administrator's sudo session is not their login);
* volume over time: GB-days, from the daily usage samples the runner keeps in its state (``history``,
  backed up with the rest of /var/lib/omero-governance): each day counts the last sample taken on or before
  it (the data stays until it is removed); days before the group's first sample count nothing, and the
  row says so.

Support receives one notice per group and period (``billing|<group>|<YYYY-MM>``), and the HTML report
plots each group's GB per day over the period.
"""

import datetime

from omero_governance import GB, _notice, add_months, line_svg, to_date

FREE_MONTHS = 1  # DMP: "créé temporairement pour une durée d'1 mois"
COLUMNS = ("billing_period", "days_used", "gb_days")


def billing_period(today):
    """The last complete calendar month before ``today``: ``(first day, last day, "YYYY-MM")``."""
    last = today.replace(day=1) - datetime.timedelta(days=1)
    first = last.replace(day=1)
    return first, last, f"{first.year:04d}-{first.month:02d}"


def billable_window(group, first, last):
    """``(from, to)``: the days of [first, last] past the group's first month, or None."""
    start = max(first, add_months(to_date(group["created"]), FREE_MONTHS))
    return (start, last) if start <= last else None


def billed_members(group):
    owners = set(group.get("owners") or [])
    return sorted(m for m in group.get("members") or [] if m not in owners)


def days_used(logins, members, start, end):
    """The days of [start, end] with a login of one of ``members``; ``logins``: (omename, "YYYY-MM-DD")."""
    wanted = set(members)
    return sorted({day for name, day in logins if name in wanted and str(start) <= day <= str(end)})


def _days(start, end):
    return [start + datetime.timedelta(days=i) for i in range((end - start).days + 1)]


def daily_bytes(history, name, start, end):
    """``{date: bytes or None}`` for each day of [start, end]: the group's last sample on or before that day."""
    samples = sorted((day, entry.get("groups", {}).get(name, 0)) for day, entry in history.items())
    out, i, current = {}, 0, None
    for day in _days(start, end):
        while i < len(samples) and samples[i][0] <= str(day):
            current = samples[i][1]
            i += 1
        out[day] = current
    return out


def group_bill(group, history, logins, start, end):
    """One group's figures over its billable window."""
    per_day = daily_bytes(history, group["name"], start, end)
    sampled = [d for d in per_day if str(d) in history]
    uncovered = [d for d, v in per_day.items() if v is None]
    return {"group": group["name"], "from": start, "to": end, "days": len(per_day),
            "days_used": days_used(logins, billed_members(group), start, end),
            "gb_days": sum(v for v in per_day.values() if v is not None) / GB,
            "samples": len(sampled), "uncovered": uncovered, "per_day": per_day}


def billing(config, history, logins, today, support):
    """The bills of the last complete month: ``(notices to support, report rows, bills)``."""
    first, last, period = billing_period(today)
    notices, rows, bills = [], [], []
    for group in config["external_groups"]:
        window = billable_window(group, first, last) if group.get("billed") else None
        if window is None:
            continue
        bill = group_bill(group, history, logins, *window)
        bills.append(bill)
        used, gbd = len(bill["days_used"]), bill["gb_days"]
        flag = f"no usage sample before {bill['uncovered'][-1] + datetime.timedelta(days=1)}" if bill["uncovered"] else ""
        if to_date(group["expires"]) < bill["to"]:
            flag = "; ".join(filter(None, (flag, f"expired on {group['expires']}")))
        rows.append({"section": "billing", "subject": group["name"],
                     "detail": f"{period}: billed {bill['from']} to {bill['to']} ({bill['days']} d past the first month)",
                     "value": f"{used} day(s) used, {gbd:.3f} GB-days", "flag": flag,
                     "cost": f"{used} d, {gbd:.3f} GB-days", "billing_period": period, "days_used": str(used),
                     "gb_days": f"{gbd:.3f}"})
        notices.append(_notice(
            "billing", group["name"], period, [support], [],
            f"[OMERO] Billing {period}: external group {group['name']} ({used} day(s) used, {gbd:.3f} GB-days)",
            [(f"The external group {group['name']} ({group.get('site', '')}), created on {group['created']}, is past "
              f"its first month: from {bill['from']} to {bill['to']} ({bill['days']} days) it is billed (DMP section 6)."),
             f"Days used (a member's own login): {used}" + (f" ({', '.join(bill['days_used'])})" if used else "") + ".",
             f"Volume over time: {gbd:.3f} GB-days from {bill['samples']} daily usage sample(s)"
             + (f"; {flag}" if flag else "") + ".",
             "Members counted: " + (", ".join(billed_members(group)) or "none") + "."]))
    return notices, rows, bills


def bill_svg(bill, width=480, height=160):
    """GB per day over the billable window (inline SVG: no plotting library on the server host)."""
    days = sorted(bill["per_day"])
    return line_svg(days, [(bill["per_day"][d] or 0) / GB for d in days], f"GB per day of {bill['group']}",
                    f"{bill['group']}: ", width, height, color="#d62728")
