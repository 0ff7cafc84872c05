"""build_view() restricted to some categories, without LLDP neighbours or CPU flags."""

from __future__ import annotations

from metalscope.hardware.devices import LLDP_FIELDS
from metalscope.hardware.view import CATEGORIES, build_view
from tests import factories


def test_only_the_named_categories_are_read() -> None:
    data = factories.ramdisk_data()
    whole = build_view(data)
    part = build_view(data, only=("system", "nics"))
    assert set(whole.categories) == set(CATEGORIES)
    assert set(part.categories) == {"system", "nics"}
    assert part.categories["system"] == whole.categories["system"]
    assert part.total_mb == whole.total_mb


def test_nics_without_neighbours_keep_everything_else() -> None:
    data = factories.ramdisk_data()
    whole = build_view(data).categories["nics"]
    bare = build_view(data, neighbours=False).categories["nics"]
    assert whole is not None and bare is not None and list(bare) == list(whole)
    for identity, attributes in bare.items():
        assert not set(LLDP_FIELDS) & set(attributes)
        assert attributes == {k: v for k, v in whole[identity].items() if k not in LLDP_FIELDS}


def test_no_wanted_cpu_flag_gives_an_empty_list_as_none_matching_would() -> None:
    data = factories.ramdisk_data()
    cpu = build_view(data, cpu_flags=()).categories["cpu"]
    nothing = build_view(data, cpu_flags=("no-such-flag",)).categories["cpu"]
    assert cpu is not None and cpu["cpu"]["flags"] == []
    assert cpu == nothing
    data["inventory"]["cpu"].pop("flags", None)
    missing = build_view(data, cpu_flags=()).categories["cpu"]
    assert missing is not None and missing["cpu"]["flags"] is None
