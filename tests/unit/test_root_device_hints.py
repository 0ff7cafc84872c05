"""Root device hint parsing and matching (spec 5.4, root_disk_selection)."""

from typing import Any

import pytest

from metalscope.root_device_hints import (
    Hint,
    InvalidRootDeviceHints,
    disk_matches,
    find_disks,
    parse_hint,
    parse_hints,
    to_bool,
)
from tests.factories import disk

DISKS = [
    disk("/dev/sda", 60, model="OK Model", serial="fakeserial", vendor="ATA",
         hctl="1:0:0:0", rotational=False),
    disk("/dev/sdb", 120, model="Big Model", serial="veryfakeserial", vendor="ATA",
         rotational="yes"),
    disk("/dev/sdc", 10, model="small model", serial="veryveryfakeserial", rotational=False),
]


def names(hints: dict[str, Any]) -> list[str]:
    return [d["name"] for d in find_disks(DISKS, parse_hints(hints))]


class TestParseHint:
    def test_string_defaults_to_equality(self) -> None:
        """A plain string hint is lower-cased, quoted and compared with s==."""
        assert parse_hint("model", "FOO Model") == Hint("model", "s==", ("foo%20model",))

    def test_colons_are_quoted(self) -> None:
        """Values are URL-quoted like the disk side, so colons survive."""
        assert parse_hint("hctl", "1:0:0:0").operands == ("1%3A0%3A0%3A0",)

    def test_size_defaults_to_equality(self) -> None:
        """An integer size, or its string form, means == that many GiB."""
        assert parse_hint("size", 20) == parse_hint("size", "20") == Hint("size", "==", (20,))

    def test_operator_without_space(self) -> None:
        """The operator need not be followed by a space."""
        assert parse_hint("size", ">=100") == Hint("size", ">=", (100,))

    def test_or_operands_with_spaces(self) -> None:
        """<or> splits on the operator only, so operands may contain spaces."""
        assert parse_hint("model", "<or> foo <or> foo bar <or> bar") == Hint(
            "model", "<or>", ("foo", "foo%20bar", "bar"))

    def test_trailing_or_ignored(self) -> None:
        """An empty trailing alternative is dropped."""
        assert parse_hint("size", "<or> 1 <or> 2 <or>").operands == (1, 2)

    @pytest.mark.parametrize("value,expected", [
        (True, True), ("yes", True), ("on", True), ("1", True),
        (False, False), ("no", False), ("OFF", False), ("0", False),
    ])
    def test_rotational(self, value: Any, expected: bool) -> None:
        """rotational accepts booleans and the usual words."""
        assert parse_hint("rotational", value).operands == (expected,)


class TestInvalidHints:
    @pytest.mark.parametrize("hints,reason", [
        ({"colour": "red"}, 'Unknown root device hint "colour"'),
        ({"size": "big"}, 'Root device hint "size" must be an integer'),
        ({"size": 0}, 'Root device hint "size" must be a positive integer'),
        ({"size": -123}, 'Root device hint "size" must be a positive integer'),
        ({"size": "<or> 1 <or> x"}, 'Root device hint "size" must be an integer'),
        ({"size": True}, 'Root device hint "size" must be an integer'),
        ({"size": 1.5}, 'Root device hint "size" must be an integer'),
        ({"size": "s== 10"}, 'Operator "s==" cannot be used with the integer hint "size"'),
        ({"model": ">= 5"}, 'Operator ">=" cannot be used with the string hint "model"'),
        ({"rotational": "maybe"}, 'Root device hint "rotational" must be a boolean'),
        ({"serial": 123}, 'Root device hint "serial" must be a string'),
        ({"wwn": ""}, 'Root device hint "wwn" has an empty value'),
        ({"name": "s== "}, 'Root device hint "name" has an empty value'),
        ("size=10", "Root device hints must be an object"),
    ])
    def test_rejected(self, hints: Any, reason: str) -> None:
        """Invalid names, types and values are rejected with a reason."""
        with pytest.raises(InvalidRootDeviceHints) as exc:
            parse_hints(hints)
        assert str(exc.value).startswith(reason)

    def test_is_value_error(self) -> None:
        """The error is a ValueError, like Ironic's."""
        assert issubclass(InvalidRootDeviceHints, ValueError)


class TestMatching:
    def test_size_at_least(self) -> None:
        """>= compares against the size in GiB."""
        assert names({"size": ">= 70"}) == ["/dev/sdb"]

    def test_size_equality(self) -> None:
        """A bare size matches the disk of exactly that many GiB."""
        assert names({"size": 120}) == ["/dev/sdb"]

    def test_size_not_rounded(self) -> None:
        """A disk of 20.5 GiB does not equal a 20 GiB hint."""
        assert not disk_matches(disk(size_gib=20.5), parse_hints({"size": 20}))

    def test_single_equals_means_at_least(self) -> None:
        """The = operator is "equal or greater", as documented by Ironic."""
        assert names({"size": "= 60"}) == ["/dev/sda", "/dev/sdb"]

    def test_size_or(self) -> None:
        """<or> on size matches any listed size."""
        assert names({"size": "<or> 10 <or> 60"}) == ["/dev/sda", "/dev/sdc"]

    def test_case_insensitive_string(self) -> None:
        """String hints ignore case on both sides."""
        assert names({"model": "BIG model"}) == ["/dev/sdb"]

    def test_string_not_equal(self) -> None:
        """s!= excludes the given value."""
        assert names({"serial": "s!= fakeserial"}) == ["/dev/sdb", "/dev/sdc"]

    def test_in_substring(self) -> None:
        """<in> matches a substring."""
        assert names({"serial": "<in> veryvery"}) == ["/dev/sdc"]

    def test_in_with_space(self) -> None:
        """<in> keeps a space inside its operand."""
        assert names({"model": "<in> l mod"}) == ["/dev/sdc"]

    def test_string_or(self) -> None:
        """<or> on strings matches any alternative, spaces included."""
        assert names({"model": "<or> model 5 <or> foomodel <or> small model <or>"}) == ["/dev/sdc"]

    def test_rotational_from_string_disk_value(self) -> None:
        """A disk reporting rotational as a word is compared as a boolean."""
        assert names({"rotational": True}) == ["/dev/sdb"]
        assert names({"rotational": False}) == ["/dev/sda", "/dev/sdc"]

    def test_all_hints_must_match(self) -> None:
        """Several hints combine with AND."""
        assert names({"size": "<= 100", "model": "<in> model",
                      "serial": "s== veryveryfakeserial"}) \
            == ["/dev/sdc"]

    def test_empty_disk_attribute_skips_disk(self) -> None:
        """A disk whose attribute is empty never matches a string hint."""
        assert names({"vendor": "s!= foo"}) == ["/dev/sda", "/dev/sdb"]
        assert not disk_matches(disk(model=" "), parse_hints({"model": "s!= foo"}))

    def test_name(self) -> None:
        """The name hint compares the full device path."""
        assert names({"name": "/dev/sdb"}) == ["/dev/sdb"]
        assert names({"name": "sdb"}) == []

    def test_hctl_with_colons(self) -> None:
        """Quoted values still match their disk attribute."""
        assert names({"hctl": "1:0:0:0"}) == ["/dev/sda"]

    def test_no_match(self) -> None:
        """No disk satisfying the hints gives an empty list."""
        assert names({"size": ">= 50", "model": "foo"}) == []

    def test_disk_without_size_never_matches_size(self) -> None:
        """A disk without a size cannot satisfy a size hint."""
        assert not disk_matches({"name": "/dev/sdz"}, parse_hints({"size": ">= 1"}))


class TestToBool:
    @pytest.mark.parametrize("value", [None, "maybe", 2, ""])
    def test_not_boolean(self, value: Any) -> None:
        """Values that are not booleans give None."""
        assert to_bool(value) is None
