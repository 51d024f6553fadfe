# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the three accounts modules share: the connection argument spec and the reconcile driver.

The modules stay thin: they turn their arguments into the model's desired state and call
``reconcile``, which opens ONE session, reads the current state in bulk, plans, applies unless in
check mode, and exits with ``changed``, ``diff`` and ``actions``.
"""

import datetime
import json
import os
import tempfile
import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.omero_accounts_actions import describe, simulate, view
from ansible.module_utils.omero_accounts_data import refused_transfers
from ansible.module_utils.omero_accounts_drift import (
    describe_drift,
    detect_drift,
    keep_drift,
)
from ansible.module_utils.omero_accounts_plan import PlanError, plan
from ansible.module_utils.omero_client import (
    HAS_OMERO,
    OMERO_IMPORT_ERROR,
    OmeroAccounts,
    OmeroAccountsError,
)

PERMISSION_CHOICES = ["private", "read-only", "read-annotate", "read-write"]


def connection_argument_spec():
    """Options every accounts module takes to reach the server (the password comes from the vault)."""
    return {
        "host": {"type": "str", "default": "localhost"},
        "port": {"type": "int", "default": 4064},
        "protocol": {"type": "str", "default": "ssl", "choices": ["ssl", "tcp"]},
        "admin_user": {"type": "str", "default": "root"},
        "admin_password": {"type": "str", "required": True, "no_log": True},
    }


def require_omero(module):
    if not HAS_OMERO:
        module.fail_json(msg=missing_required_lib("omero-py"), exception=str(OMERO_IMPORT_ERROR))


def _read_json(path, default):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return default


def _write_json(path, data):
    """Atomically, readable by the owner only (the records name people: administrators only)."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True, ensure_ascii=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


class Records:
    """What the accounts runs keep on the server host, in ``state_dir`` (0700, files 0600).

    - ``last-applied.json``: the inventory's desired view at the last run that applied it, so that the
      next run tells a change made in OMERO (drift) from a change made in the inventory;
    - ``deactivated.json``: which person became which ``A_utiliser_<n>``, when, and who got their data;
    - ``password-resets.json``: the ``password_reset`` value last applied per person (one-shot resets);
    - ``transfers.json``: the ownership transfers applied (each inventory id once);
    - ``links-to-remake.json``: links a running transfer cuts and the run makes again (empty once made; a run
      stopped in between leaves them for the next run to make).
    """

    def __init__(self, state_dir):
        self.dir = state_dir

    def path(self, name):
        return os.path.join(self.dir, name)

    def last_applied(self):
        return _read_json(self.path("last-applied.json"), None) if self.dir else None

    def resets(self):
        return _read_json(self.path("password-resets.json"), {}) if self.dir else {}

    def links_to_remake(self):
        return _read_json(self.path("links-to-remake.json"), []) if self.dir else []

    def transfers_applied(self):
        return _read_json(self.path("transfers.json"), {}) if self.dir else {}

    def save(self, name, data):
        if self.dir:
            _write_json(self.path(name), data)

    def record(self, action):
        """Called after each applied action: departures and transfers are written down as they happen."""
        if not self.dir:
            return
        if action["action"] == "transfer_objects":
            table = self.transfers_applied()
            table[action["id"]] = {"from": action["user"], "to": action["to"], "objects": action["targets"],
                                   "applied": datetime.date.today().isoformat()}
            self.save("transfers.json", table)
            return
        if action["action"] not in ("rename_user", "transfer_data", "delete_data"):
            return
        table = _read_json(self.path("deactivated.json"), {})
        if action["action"] == "rename_user":
            entry = table.pop("pending:" + action["user"], {})
            entry.update(omename=action["user"], renamed_to=action["to"], date=datetime.date.today().isoformat())
            table[action["to"]] = entry
        else:
            entry = table.setdefault("pending:" + action["user"], {"omename": action["user"]})
            if action["action"] == "transfer_data":
                entry.setdefault("data_to", {})[action["group"]] = action["to"]
            else:
                entry["data_deleted"] = action["groups"]
        self.save("deactivated.json", table)


def _read(conn, admins, departing, transfers, configured=()):
    """The server's state in bulk; the config of the groups that manage some (``configured``); the data of
    the departing; the transfers' objects, less the transfers the server cannot do (``refused``, with the
    reason)."""
    current = conn.read_state(privileges_of=admins)
    if configured:
        conn.read_group_config(configured)
    refused = []
    if departing & set(current["users"]):
        conn.read_owned(sorted(departing & set(current["users"])))
    if transfers:
        conn.read_objects(sorted({o for t in transfers for o in t["objects"]}))
        transfers, refused = refused_transfers(transfers, current.get("filesets") or {})
    return current, transfers, refused


def _remake_links(conn, records, check_mode):
    """Links cut by a transfer of a run that stopped before making them again: made now (the records say
    which, ``links-to-remake.json``). Returns one line per link made (or, in check mode, to make)."""
    pending = records.links_to_remake()
    conn.on_relink = lambda links: records.save("links-to-remake.json", links)
    if not pending:
        return []
    made = pending if check_mode else conn.recreate_missing_links(pending)
    if not check_mode:
        records.save("links-to-remake.json", [])
    return [f"re-create {r['kind']} {r['parent']} -> {r['child']} for {r['owner']} (cut by an interrupted transfer)"
            for r in made]


def reconcile(module, groups=(), users=(), departed=(), settings=None, passwords=None, password_tokens=None,
              state_dir=None, reset_all=False, transfers=(), extra_result=None):
    """Read, plan, dry-run, apply (unless check mode) in one session; exit the module with the result.

    With ``state_dir`` (omero_accounts), changes made in OMERO since the last run are drift: reported,
    and kept unless ``settings.drift_policy`` is ``revert``; ``password_tokens`` ({omename: value})
    reset a password once per new value. Every refusal the real server would make is raised before
    any change (the model's ``check_plan``, then the graph requests' ``dryRun``).
    """
    require_omero(module)
    passwords = passwords or {}
    settings = dict(settings or {})
    records = Records(state_dir)
    p = module.params
    managed_groups = {g["name"] for g in groups}
    departing = {d["omename"] for d in departed}
    managed_users = {u["omename"] for u in users} | departing
    admins = [u["omename"] for u in users if u.get("admin") and u.get("admin_privileges") is not None]
    given = set(passwords)
    done_resets = records.resets()
    tokens = {n: t for n, t in (password_tokens or {}).items() if t}
    if tokens and not state_dir:
        module.fail_json(msg="password_reset needs state_dir (where the last reset applied is recorded)")
    if transfers and not state_dir:
        module.fail_json(msg="transfers need state_dir (where each transfer applied is recorded)")
    applied = records.transfers_applied()
    transfers = [t for t in transfers if t["id"] not in applied]
    resets = sorted(n for n, t in tokens.items() if done_resets.get(n) != t)
    if reset_all:  # omero_user update_password=always: the caller asked for every given password
        resets = sorted(given)
    drift, progress, refused, remade = [], [], [], []
    try:
        with OmeroAccounts(p["host"], p["port"], p["admin_user"], p["admin_password"], protocol=p["protocol"],
                           on_progress=module.log) as conn:
            progress = conn.progress  # graph requests' steps, also in the log (module.log)
            configured = [g["name"] for g in groups if g.get("config")]
            current, transfers, refused = _read(conn, admins, departing, transfers, configured)
            remade = _remake_links(conn, records, module.check_mode)
            resets = [n for n in resets if n in current["users"]]
            try:
                actions = plan(current, groups=groups, users=users, departed=departed, settings=settings,
                               passwords_given=given, password_resets=resets, transfers=transfers)
                shown_groups = managed_groups | {a["group"] for a in actions if "group" in a}
                desired_view = view(simulate(current, actions), shown_groups, managed_users)
                if state_dir:
                    drift = detect_drift(view(current, shown_groups, managed_users), desired_view,
                                         records.last_applied(), skip_users=departing)
                    if drift and settings.get("drift_policy", "report") != "revert":
                        kept_groups, kept_users = keep_drift(groups, users, drift)
                        actions = plan(current, groups=kept_groups, users=kept_users, departed=departed,
                                       settings=settings, passwords_given=given, password_resets=resets,
                                       transfers=transfers)
            except PlanError as exc:
                module.fail_json(msg=f"OMERO accounts: nothing was changed: {exc}")
            try:
                conn.dry_run(actions)
            except OmeroAccountsError as exc:
                module.fail_json(msg=f"OMERO accounts: nothing was changed: the server's dry run refused a step: {exc}")
            after = simulate(current, actions)
            # Renamed (deactivated) accounts appear in "after" under their new name.
            renamed = {a["to"] for a in actions if a["action"] == "rename_user"}
            before_view = view(current, shown_groups, managed_users)
            after_view = view(after, shown_groups, managed_users | renamed)
            if not module.check_mode:
                if actions:
                    conn.apply(actions, passwords, on_applied=records.record)
                records.save("last-applied.json", desired_view)
                if resets and tokens:
                    records.save("password-resets.json", dict(done_resets, **{n: tokens[n] for n in resets if n in tokens}))
    except Exception as exc:  # noqa: BLE001 - Ice and server errors become a clean module failure
        module.fail_json(msg=f"OMERO accounts: {type(exc).__name__}: {exc}", exception=traceback.format_exc())
    reverted = settings.get("drift_policy", "report") == "revert"
    module.exit_json(**dict({
        "changed": bool(actions or remade),
        "actions": remade + [describe(a) for a in actions],
        "plan": actions,
        "drift": [describe_drift(d) + (" (reverted: drift_policy revert)" if reverted else
                                       " (kept: set drift_policy: revert to undo it)") for d in drift],
        "drift_items": drift,
        "diff": {"before": before_view, "after": after_view},
        "progress": progress,
        "refused": refused,
    }, **(extra_result or {})))
