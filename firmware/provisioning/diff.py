"""What changed between two configurations, so a resync applies only that.

The 7960 re-registers when its line set changes; so do we: ``reregister`` is
True when a line is added, removed or changed (name, auth, password, proxy),
or when anything a REGISTER depends on changes. Secrets are reported by key
name only.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware.provisioning.schema import PhoneConfig

#: Keys whose change means the registrations must be redone.
REGISTRATION_KEYS = frozenset({
    "outbound_proxy", "outbound_proxy_port", "proxy_register", "timer_register_expires",
    "voip_control_port", "nat_enable", "nat_address", "proxy_backup", "proxy_backup_port",
    "bind_address", "keepalive_interval", "proxy_retry_interval",
})


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigDiff:
    changed_keys: tuple[str, ...] = ()
    lines_added: tuple[int, ...] = ()
    lines_removed: tuple[int, ...] = ()
    lines_changed: tuple[int, ...] = ()
    dialplan_changed: bool = False
    reregister: bool = False

    @property
    def empty(self) -> bool:
        return not (self.changed_keys or self.lines_added or self.lines_removed
                    or self.lines_changed or self.dialplan_changed)

    def summary(self) -> str:
        """One log line; key names only, never values."""
        if self.empty:
            return "no change"
        parts = []
        if self.lines_added:
            parts.append(f"lines added {list(self.lines_added)}")
        if self.lines_removed:
            parts.append(f"lines removed {list(self.lines_removed)}")
        if self.lines_changed:
            parts.append(f"lines changed {list(self.lines_changed)}")
        if self.changed_keys:
            parts.append("keys " + ", ".join(self.changed_keys))
        if self.dialplan_changed:
            parts.append("dial plan")
        if self.reregister:
            parts.append("-> re-register")
        return "; ".join(parts)


def diff_configs(old: PhoneConfig, new: PhoneConfig) -> ConfigDiff:
    keys = sorted(set(old.values) | set(new.values))
    changed = tuple(k for k in keys if old.values.get(k) != new.values.get(k))
    old_lines = {ln.index: ln for ln in old.lines}
    new_lines = {ln.index: ln for ln in new.lines}
    added = tuple(sorted(set(new_lines) - set(old_lines)))
    removed = tuple(sorted(set(old_lines) - set(new_lines)))
    changed_lines = tuple(sorted(i for i in set(old_lines) & set(new_lines)
                                 if old_lines[i] != new_lines[i]))
    rereg = bool(added or removed or changed_lines
                 or any(k in REGISTRATION_KEYS for k in changed))
    return ConfigDiff(
        changed_keys=changed, lines_added=added, lines_removed=removed,
        lines_changed=changed_lines, dialplan_changed=old.dialplan != new.dialplan,
        reregister=rereg,
    )
