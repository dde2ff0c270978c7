"""From the config to the network plan: where to listen, which address to announce,
which proxies stand for which servers (docs/provisioning.md, "Networks").

Why a module of its own: these are the policy decisions a user reads when a
phone "cannot be reached" (which address is in Contact, why a backup proxy
is used), kept apart from the sockets (``firmware.net``) and the timers
(``firmware.app.netwatch``). The config is read by attribute, like
``config_map``.
"""

from __future__ import annotations

from typing import Any

from firmware.net.addresses import is_wildcard, route_source
from firmware.net.resolve import is_ip_literal
from firmware.net.router import RouteSpec

__all__ = ["advertised_host", "bind_host", "failover_wanted", "route_specs", "sip_transport"]

Address = tuple[str, int]
#: Asked for a source address when no proxy is known (TEST-NET-1: never sent to;
#: a UDP connect only consults the routing table).
NO_PROXY_PROBE = "192.0.2.1"


def bind_host(cfg: Any, override: str | None = None) -> str:
    """``bind_address`` from the config (empty: every interface, ``0.0.0.0``)."""
    if override:
        return override
    return str(getattr(cfg, "bind_address", "") or "0.0.0.0")


def nat_address(cfg: Any) -> str | None:
    """The public address to announce, when ``nat_enable`` names one."""
    if getattr(cfg, "nat_enable", False) and getattr(cfg, "nat_address", ""):
        return str(cfg.nat_address)
    return None


def advertised_host(cfg: Any, bind: str, toward: str | None) -> str | None:
    """The address for Via, Contact and SDP: ``nat_address`` (with ``nat_enable``),
    else the bound address, else the one the kernel routes from towards IP
    ``toward`` (the proxy); None when there is no route at all (interface down)."""
    nat = nat_address(cfg)
    if nat:
        return nat
    if not is_wildcard(bind):
        return bind
    return route_source(toward or NO_PROXY_PROBE)


def _proxies(cfg: Any) -> list[Any]:
    out = []
    for line in getattr(cfg, "lines", ()):
        proxy = getattr(line, "proxy", None)
        if proxy is None:
            proxy = (getattr(cfg, "proxies", {}) or {}).get(getattr(line, "index", 1))
        if proxy is None or not getattr(proxy, "address", ""):
            continue
        if str(proxy.address).upper() == "UNPROVISIONED" or proxy in out:
            continue
        out.append(proxy)
    return out


def route_specs(cfg: Any, transport: str = "udp") -> dict[Address, RouteSpec]:
    """One route per configured proxy, keyed by the address the core sends to.

    A proxy named without ``proxy{n}_port`` is looked up by NAPTR/SRV
    (RFC 3263 §4.2); ``proxy_backup`` follows every proxy's own targets.
    """
    backup: Address | None = None
    if getattr(cfg, "proxy_backup", ""):
        backup = (str(cfg.proxy_backup), int(getattr(cfg, "proxy_backup_port", 5060)))
    routes: dict[Address, RouteSpec] = {}
    for proxy in _proxies(cfg):
        host = str(proxy.address)
        port = int(getattr(proxy, "port", 5060))
        srv = not getattr(proxy, "port_given", True) and not is_ip_literal(host)
        routes[(host, port)] = RouteSpec(host=host, port=None if srv else port,
                                         transport=str(getattr(proxy, "transport", transport)),
                                         backup=backup)
    if getattr(cfg, "outbound_proxy", ""):
        host, port = str(cfg.outbound_proxy), int(getattr(cfg, "outbound_proxy_port", 5060))
        routes.setdefault((host, port), RouteSpec(host=host, port=port, transport=transport))
    return routes


def sip_transport(cfg: Any) -> str:
    """The transport to the first line's proxy (``proxy{n}_transport``: udp, tcp, tls)."""
    proxies = _proxies(cfg)
    return str(getattr(proxies[0], "transport", "udp") or "udp").lower() if proxies else "udp"


def failover_wanted(cfg: Any) -> bool:
    """Whether a proxy may stand for more than one server (a name, or a backup)."""
    if getattr(cfg, "proxy_backup", ""):
        return True
    return any(not is_ip_literal(str(p.address)) for p in _proxies(cfg))
