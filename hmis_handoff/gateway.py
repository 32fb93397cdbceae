"""The hosted SFTP gateway recipe: OpenSSH ``Match`` blocks for ``internal-sftp``.

A CoC that wants to offer SFTP without writing code adds these blocks to its
``sshd_config``. Each agency gets a login chrooted to its own directory, landing in its
drop folder (the folder the pipeline watches): uploads there are intakes. Each partner
gets a login chrooted to a gateway folder ``<gateway_root>/partners/<id>`` whose
``outbox`` the pipeline fills by its SFTP push channel (so the files belong to the
partner's login and can be read and removed by it). Logins are by key only; no shell,
no forwarding, no TTY. The text begins with the one-time setup commands (as comments,
run as root) and a check of the chroot rule: OpenSSH refuses a chroot if any component
of its path is not root-owned or is group/world-writable.
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from hmis_handoff.config import Settings
from hmis_handoff.layout import Layout

__all__ = ["chroot_problems", "gateway_config"]

_HARDENING = (
    "    AuthenticationMethods publickey\n"
    "    PubkeyAuthentication yes\n"
    "    PasswordAuthentication no\n"
    "    KbdInteractiveAuthentication no\n"
    "    AllowTcpForwarding no\n"
    "    AllowAgentForwarding no\n"
    "    X11Forwarding no\n"
    "    PermitTunnel no\n"
    "    PermitTTY no\n"
)


def chroot_problems(path: Path) -> list[str]:
    """Components of ``path`` that would make sshd refuse it as a chroot (as text)."""
    problems = []
    probe = path
    for part in [probe, *probe.parents]:
        try:
            st = part.stat()
        except FileNotFoundError:
            continue
        if st.st_uid != 0 or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            problems.append(f"{part} must be root-owned and not group/world-writable")
    return problems


def _block(user: str, chroot: Path, start: str, keys_dir: Path) -> str:
    return (
        f"Match User {user}\n"
        f"    ChrootDirectory {chroot}\n"
        f"    ForceCommand internal-sftp -d {start} -u 0077\n"
        f"    AuthorizedKeysFile {keys_dir}/%u\n" + _HARDENING
    )


def gateway_config(
    settings: Settings,
    *,
    keys_dir: Path,
    gateway_root: Path,
    user_prefix: str = "handoff-",
    host: str = "127.0.0.1",
    port: int = 22,
) -> str:
    """The setup commands (comments) and Match blocks for every local agency and partner."""
    layout = Layout(settings.root)
    owner = pwd.getpwuid(os.stat(layout.root).st_uid).pw_name  # the pipeline's own user
    setup: list[str] = [f"install -d -m 0755 -o root -g root {keys_dir}"]
    blocks: list[str] = []
    notes: list[str] = []
    for agency in settings.agencies:
        if agency.drop_url:
            continue  # the agency already has its own SFTP server
        user = f"{user_prefix}{agency.id}"
        chroot = layout.agencies / agency.id
        drop = layout.agency_drop(agency.id)
        setup += [
            f"id {user} >/dev/null 2>&1 || useradd --system --no-create-home "
            f"--shell /usr/sbin/nologin {user}",
            f"usermod -p '*' {user}",
            f"chmod 0711 {chroot}",
            # The drop folder stays ours (the pipeline refuses a folder another user owns,
            # see safedir); the agency's login writes into it through its group.
            f"chown {owner}:{user} {drop}",
            f"chmod 2770 {drop}",
            f"# put agency {agency.id}'s public key in {keys_dir}/{user} (0644, root-owned)",
        ]
        notes += chroot_problems(chroot)
        blocks.append(f"# agency {agency.id}: uploads land in its drop folder\n")
        blocks.append(_block(user, chroot, "/drop", keys_dir))
    for partner in settings.partners:
        user = f"{user_prefix}{partner.id}"
        chroot = gateway_root / "partners" / partner.id
        setup += [
            f"id {user} >/dev/null 2>&1 || useradd --system --no-create-home "
            f"--shell /usr/sbin/nologin {user}",
            f"usermod -p '*' {user}",
            f"install -d -m 0755 -o root -g root {chroot}",
            f"install -d -m 0700 -o {user} -g {user} {chroot}/outbox",
            f"# put partner {partner.id}'s public key AND the pipeline's push key in "
            f"{keys_dir}/{user}",
        ]
        notes += chroot_problems(gateway_root)
        blocks.append(
            f"# partner {partner.id}: reads and removes packages in /outbox; the pipeline\n"
            f"# pushes them there with this channel in handoff.toml:\n"
            f"#   [[partners.delivery]]\n"
            f'#   kind = "sftp"\n'
            f'#   url = "sftp://{user}@{host}:{port}/outbox"\n'
            f'#   key_file = "keys/gateway-push.key"\n'
            f'#   known_hosts = "keys/gateway-known_hosts"\n'
        )
        blocks.append(_block(user, chroot, "/outbox", keys_dir))
    header = [
        "# HMIS Handoff SFTP gateway: append to /etc/ssh/sshd_config, then `sshd -t` and",
        "# reload sshd. The Match blocks need `Subsystem sftp internal-sftp` globally.",
        "# One-time setup, as root:",
        *(f"#   $ {line}" if not line.startswith("#") else f"#   {line}" for line in setup),
    ]
    if notes:
        header += ["# WARNING: sshd will refuse these chroots until fixed:"]
        header += [f"#   {note}" for note in dict.fromkeys(notes)]
    elif os.geteuid() != 0:
        header += ["# (run the setup as root: chroots and logins need it)"]
    return "\n".join(header) + "\n\n" + "\n".join(blocks)
