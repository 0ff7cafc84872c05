"""``is_loopback``: the shortcut for addresses without a colon agrees with parsing them."""

from __future__ import annotations

import ipaddress

import pytest

from metalscope.inventory import is_loopback

CASES = ["127.0.0.1", "127.1.2.3/8", "127.0.0.1/32", "10.0.0.1", "192.168.1.2/24", "::1",
         "::1/128", "fe80::1", "2001:db8::1/64", "::ffff:127.0.0.1", "127.", "127.0.0.256",
         "0127.0.0.1", "1270.0.0.1", "not an address", "localhost", " 127.0.0.1", "", None]


def parsed(ip: str | None) -> bool:
    if not ip:
        return False
    try:
        return ipaddress.ip_address(ip.split("/", 1)[0]).is_loopback
    except ValueError:
        return False


@pytest.mark.parametrize("ip", CASES)
def test_the_shortcut_gives_what_parsing_gives(ip: str | None) -> None:
    assert is_loopback(ip) == parsed(ip)


def test_loopback_addresses_are_found() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.9.9.9/8") and is_loopback("::1")
    assert not is_loopback("10.1.1.1") and not is_loopback("127.0.0.256")
