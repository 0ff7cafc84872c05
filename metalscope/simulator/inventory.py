"""Simulated machines and the ironic-python-agent documents they would post.

A :class:`SimulatedNode` is a complete, immutable description of one machine; :func:`make_node`
builds one deterministically from ``(seed, index)`` and :func:`ramdisk_data` renders the JSON
object IPA's inspection collectors would send for it (spec ``inspector.md`` 6, ``ecosystem.md``
6.2). Every random choice comes from a ``random.Random`` seeded with a string naming the seed,
the index and the part being generated, so overriding one part (say the MACs) leaves the others
(disks, CPU) unchanged, and nothing touches the global random state.

Addressing plan (documentation and benchmarking ranges only):

* PXE NICs: ``192.0.2.10``-``192.0.2.249`` (a DHCP lease: repeats every 240 nodes, harmless);
  other NICs and switch management addresses: ``198.51.100.0/24``.
* BMC IPv4: ``203.0.113.1``-``203.0.113.254`` for indexes 0-253, then ``198.18.0.0/15``
  (RFC 2544) so large benchmark fleets keep unique BMC addresses; BMC IPv6: ``2001:db8:b3c::/64``.
* MACs: a realistic OUI per NIC vendor (``52:54:00`` for virtual NICs) and three low bytes that
  encode ``(index, slot)`` under a per-seed mask, hence unique within a seed.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import io
import ipaddress
import random
import re
import struct
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from metalscope.simulator.dmi import SimulatedDimm, build_dimms, dmi_section

GIB = 1 << 30
MIB = 1 << 20
MAX_INDEX = 1 << 17  # size of 198.18.0.0/15, the BMC pool past the documentation range

_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
# IPoIB DHCP client-id prefix used by IPA's Mellanox hardware manager (RFC 4390).
_IB_CLIENT_ID_PREFIX = "ff:00:00:00:00:00:02:00:00:02:c9:00"
_MIN_ROOT_DISK = 4 * GIB  # IPA's default minimum root disk size
_BMC_SLOT = 8


# --------------------------------------------------------------------------------------------
# The public description of a machine
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SwitchPort:
    """The switch port a NIC is cabled to, as advertised over LLDP."""

    chassis_mac: str
    port_id: str
    system_name: str
    system_description: str
    port_description: str
    management_ipv4: str
    port_vlan_id: int | None
    vlans: tuple[tuple[int, str], ...]
    mtu: int
    mau_type: int | None  # RFC 4836 operational MAU type; None: no 802.3 MAC/PHY TLV
    if_index: int = 1
    capabilities_enabled: int = 0x0004  # 802.1AB bits: 0x04 bridge, 0x10 router
    ttl: int = 120


@dataclass(frozen=True)
class SimulatedNic:
    """One network interface as the ramdisk sees it."""

    name: str
    mac_address: str
    vendor: str  # sysfs form, e.g. "0x8086"
    product: str
    driver: str | None
    pci_address: str | None
    speed_mbps: int | None
    has_carrier: bool
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    biosdevname: str | None = None
    infiniband: bool = False
    switch: SwitchPort | None = None

    @property
    def client_id(self) -> str | None:
        """The IPoIB DHCP client-id IPA reports for an InfiniBand port, else None."""
        if not self.infiniband:
            return None
        octets = self.mac_address.split(":")
        guid = [*octets[:3], "03", "00", *octets[3:]]
        return ":".join([_IB_CLIENT_ID_PREFIX, *guid])


@dataclass(frozen=True)
class SimulatedDisk:
    """One block device (a field for each key IPA serialises)."""

    name: str
    model: str | None
    size: int
    rotational: bool
    vendor: str | None
    serial: str | None
    wwn: str | None
    wwn_vendor_extension: str | None
    hctl: str | None
    by_path: str | None
    tran: str | None
    logical_sectors: int = 512
    physical_sectors: int = 512

    @property
    def wwn_with_extension(self) -> str | None:
        if self.wwn and self.wwn_vendor_extension:
            return self.wwn + self.wwn_vendor_extension.removeprefix("0x")
        return self.wwn


@dataclass(frozen=True)
class SimulatedCpu:
    model_name: str
    frequency: str
    count: int
    architecture: str
    flags: tuple[str, ...]
    socket_count: int


@dataclass(frozen=True)
class SimulatedPciDevice:
    bus: str
    vendor_id: str  # lspci form, no 0x
    product_id: str
    pci_class: str
    revision: str
    numa_node_id: str | None


@dataclass(frozen=True)
class SimulatedNode:
    """A whole simulated machine; :func:`ramdisk_data` renders what its ramdisk would post."""

    name: str
    seed: int
    index: int
    vendor: str  # system manufacturer, e.g. "Dell Inc."
    model: str  # system product name
    serial_number: str
    firmware_vendor: str
    firmware_version: str
    firmware_date: str
    virtual: bool
    boot_mode: str
    nics: tuple[SimulatedNic, ...]
    pxe_mac: str
    bmc_address: str | None  # None: no IPMI device at all (virtual machines)
    bmc_v6address: str | None
    bmc_mac: str | None
    cpu: SimulatedCpu
    memory_mb: int
    memory_total: int
    disks: tuple[SimulatedDisk, ...]
    pci_devices: tuple[SimulatedPciDevice, ...]
    hostname: str = "localhost.localdomain"
    extra_hardware: bool = False
    dimms: tuple[SimulatedDimm, ...] = ()  # installed modules (none: no dmi section)
    bmc_firmware: str | None = None  # dmidecode's BIOS "Firmware Revision"

    def __post_init__(self) -> None:
        macs = self.macs
        bad = [mac for mac in macs if not _MAC_RE.match(mac)]
        if bad:
            raise ValueError(f"invalid MAC address(es) for {self.name}: {bad}")
        if len(set(macs)) != len(macs):
            raise ValueError(f"duplicate MAC addresses for {self.name}: {list(macs)}")
        if self.pxe_mac not in macs:
            raise ValueError(f"PXE MAC {self.pxe_mac} is not one of {self.name}'s NICs")

    @property
    def macs(self) -> tuple[str, ...]:
        """Every NIC MAC, in interface order (what Ironic ports would be created for)."""
        return tuple(nic.mac_address for nic in self.nics)

    @property
    def boot_interface(self) -> str:
        """The PXE NIC in PXELINUX ``BOOTIF`` form, ``01-aa-bb-cc-dd-ee-ff``."""
        return "01-" + self.pxe_mac.replace(":", "-")

    @property
    def architecture(self) -> str:
        return self.cpu.architecture


# --------------------------------------------------------------------------------------------
# Hardware catalogue (private)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _NicFamily:
    vendor: str
    product: str
    driver: str
    speed_mbps: int | None
    ports: int
    ouis: tuple[str, ...]
    revision: str = "00"
    pci_class: str = "020000"
    infiniband: bool = False
    virtio: bool = False


@dataclass(frozen=True)
class _DiskModel:
    kind: str  # raid | sata | sas | nvme | virtio | qemu-sata
    model: str | None
    vendor: str | None
    sizes: tuple[int, ...]
    rotational: bool
    serial: str | None  # pattern, see _fill
    naa_oui: str | None = None  # 6 hex digits for NAA-5 WWNs
    physical_sectors: int = 512


@dataclass(frozen=True)
class _RaidController:
    vendor_id: str
    product_id: str
    bus: int
    hctl: str  # format with k, the volume number
    naa_oui: str  # NAA-6 WWNs of the volumes


@dataclass(frozen=True)
class _CpuModel:
    model_name: str
    frequency: str
    cores: tuple[int, ...]
    threads: int
    sockets: tuple[int, ...]
    flags: tuple[str, ...]


@dataclass(frozen=True)
class _Model:
    vendor: str
    product: str
    architecture: str
    cpus: tuple[_CpuModel, ...]
    lom: tuple[_NicFamily, ...]
    cards: tuple[_NicFamily, ...]
    boot_disks: tuple[_DiskModel, ...]
    data_disks: tuple[_DiskModel, ...]
    firmware_vendor: str
    firmware_versions: tuple[str, ...]
    serial: str
    bmc_ouis: tuple[str, ...] = ()
    raid: _RaidController | None = None
    vga: tuple[str, str, str] | None = None  # vendor, product, revision
    boot_modes: tuple[str, ...] = ("uefi", "uefi", "uefi", "bios")
    pci_scheme: str = "physical"  # physical | q35 | i440fx
    weight: int = 1

    @property
    def virtual(self) -> bool:
        return self.pci_scheme != "physical"


_INTEL = ("3c:fd:fe", "b4:96:91", "40:a6:b7", "f8:f2:1e")
_MLNX = ("0c:42:a1", "b8:59:9f", "98:03:9b")
_BRCM = ("00:0a:f7", "bc:97:e1", "00:10:18")
_DELL = ("d0:94:66", "e4:43:4b", "b0:7b:25")
_HPE = ("94:40:c9", "98:f2:b3", "b4:7a:f1")
_SMC = ("ac:1f:6b", "3c:ec:ef")
_LENOVO = ("08:94:ef",)
_QEMU = ("52:54:00",)  # locally administered
_IB_GUID = ("7c:fe:90", "b8:ce:f6", "ec:0d:9a")

_I350 = _NicFamily("0x8086", "0x1521", "igb", 1000, 4, _INTEL, "01")
_X710 = _NicFamily("0x8086", "0x1572", "i40e", 10000, 2, _INTEL, "02")
_X722 = _NicFamily("0x8086", "0x37d2", "i40e", 10000, 2, _LENOVO, "09")
_X550 = _NicFamily("0x8086", "0x1563", "ixgbe", 10000, 2, _SMC, "01")
_XXV710 = _NicFamily("0x8086", "0x158b", "i40e", 25000, 2, _INTEL, "02")
_E810 = _NicFamily("0x8086", "0x159b", "ice", 25000, 2, _INTEL, "02")
_CX4LX = _NicFamily("0x15b3", "0x1015", "mlx5_core", 25000, 2, _MLNX)
_CX5 = _NicFamily("0x15b3", "0x1017", "mlx5_core", 100000, 2, _MLNX)
_CX6DX = _NicFamily("0x15b3", "0x101d", "mlx5_core", 100000, 2, _MLNX)
_BCM5720 = _NicFamily("0x14e4", "0x165f", "tg3", 1000, 2, _DELL)
_BCM5719 = _NicFamily("0x14e4", "0x1657", "tg3", 1000, 4, _HPE, "01")
_BCM57416 = _NicFamily("0x14e4", "0x16d8", "bnxt_en", 10000, 2, _DELL, "01")
_BCM57414 = _NicFamily("0x14e4", "0x16d7", "bnxt_en", 25000, 2, _BRCM, "01")
_IB_CX6 = _NicFamily("0x15b3", "0x101b", "mlx5_core", 200000, 1, _IB_GUID,
                     pci_class="020700", infiniband=True)
_VIRTIO_NET = _NicFamily("0x1af4", "0x1041", "virtio_net", None, 1, _QEMU, "01", virtio=True)
_VIRTIO_NET_LEGACY = _NicFamily("0x1af4", "0x1000", "virtio_net", None, 1, _QEMU, virtio=True)
_E1000E = _NicFamily("0x8086", "0x10d3", "e1000e", 1000, 1, _QEMU)
_NIC_FAMILIES = (_I350, _X710, _X722, _X550, _XXV710, _E810, _CX4LX, _CX5, _CX6DX, _BCM5720,
                 _BCM5719, _BCM57416, _BCM57414, _IB_CX6, _VIRTIO_NET, _VIRTIO_NET_LEGACY, _E1000E)

_PERC = _RaidController("1000", "10e2", 0x65, "0:2:{k}:0", "d09466")
_SMART_ARRAY = _RaidController("9005", "028f", 0x5c, "1:1:0:{k}", "00508b")
_MEGARAID = _RaidController("1000", "10e2", 0x41, "0:2:{k}:0", "00062b")

_SSD_VD_SIZES = (479559942144, 959656755200, 1919850381312)
_HDD_VD_SIZES = (2398509490176, 3999688294400, 7999376588800)
_DELL_SSD_VD = _DiskModel("raid", "PERC H755 Front", "DELL", _SSD_VD_SIZES, False, None)
_DELL_HDD_VD = _DiskModel("raid", "PERC H755 Front", "DELL", _HDD_VD_SIZES, True, None)
_DELL_BOSS = _DiskModel("sata", "DELLBOSS VD", "ATA", (479559942144,), False, "%%%%%%%%%%%%%%%%")
_DELL_P5600 = _DiskModel("nvme", "Dell Ent NVMe P5600 MU U.2 1.6TB", None, (1600321314816,),
                         False, "PHAB####00##1P6AGN")
_DELL_CM6 = _DiskModel("nvme", "Dell Ent NVMe CM6 RI 3.84TB", None, (3840755982336,), False,
                       "Y0@0A0##T###")
_HPE_SSD_VD = _DiskModel("raid", "LOGICAL VOLUME", "HPE", _SSD_VD_SIZES, False, None)
_HPE_HDD_VD = _DiskModel("raid", "LOGICAL VOLUME", "HPE", _HDD_VD_SIZES, True, None)
_HPE_SATA = _DiskModel("sata", "VK000480GZCNE", "ATA", (480103981056,), False, "S4@@NE0R######",
                       "002538")
_HPE_NVME = _DiskModel("nvme", "MO001600KXPTR", None, (1600321314816,), False, "S5@@NA0R######")
_SAMSUNG_SATA = _DiskModel("sata", "SAMSUNG MZ7L3480HCHQ-00A07", "ATA", (480103981056,), False,
                           "S6KM@@0R######", "002538")
_SAMSUNG_NVME = _DiskModel("nvme", "SAMSUNG MZQL21T9HCJR-00A07", None, (1920383410176,), False,
                           "S64G@@0R######")
_EXOS_HDD = _DiskModel("sata", "ST8000NM000A-2KE101", "ATA", (8001563222016,), True, "WSD#####",
                       "000c50", physical_sectors=4096)
_MICRON_SATA = _DiskModel("sata", "Micron_5300_MTFDDAK960TDS", "ATA", (960197124096,), False,
                          "2###########", "00a075")
_INTEL_SATA = _DiskModel("sata", "INTEL SSDSC2KB480G8", "ATA", (480103981056,), False,
                         "PHYF########480BGN", "5cd2e4")
_KIOXIA_NVME = _DiskModel("nvme", "KCM6XRUL1T92", None, (1920383410176,), False, "X0@0A0@@T###")
_LENOVO_VD = _DiskModel("raid", "RAID 940-8i 4GB", "Lenovo", _SSD_VD_SIZES, False, None)
_SAS_HDD = _DiskModel("sas", "ST2400MM0129", "SEAGATE", (2400476553216,), True,
                      "WBN#####0000K###@###",
                      "000c50", physical_sectors=4096)
_VIRTIO_DISK = _DiskModel("virtio", None, "0x1af4", (10 * GIB, 20 * GIB, 40 * GIB, 80 * GIB), True,
                          None)
_QEMU_DISK = _DiskModel("qemu-sata", "QEMU HARDDISK", "ATA", (20 * GIB, 50 * GIB), True, None)

_X86_COMMON = ["fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
               "pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2", "ht",
               "syscall", "nx", "pdpe1gb", "rdtscp", "lm", "constant_tsc", "rep_good", "nopl",
               "nonstop_tsc", "cpuid", "pni", "pclmulqdq", "monitor", "ssse3", "fma", "cx16",
               "pcid", "sse4_1", "sse4_2", "x2apic", "movbe", "popcnt", "aes", "xsave", "avx",
               "f16c", "rdrand", "lahf_lm", "abm", "3dnowprefetch", "ssbd", "ibrs", "ibpb", "stibp",
               "fsgsbase", "bmi1", "avx2", "smep", "bmi2", "invpcid", "rdseed", "adx", "smap",
               "clflushopt", "clwb", "sha_ni", "xsaveopt", "xsavec", "xgetbv1", "xsaves", "umip",
               "pku", "ospke"]
_INTEL_FLAGS = (*_X86_COMMON, "dts", "acpi", "ss", "tm", "pbe", "art", "arch_perfmon", "pebs",
                "bts", "xtopology", "aperfmperf", "dtes64", "ds_cpl", "vmx", "smx", "est", "tm2",
                "sdbg", "xtpr", "pdcm", "dca", "tsc_deadline_timer", "epb", "cat_l3", "intel_ppin",
                "tpr_shadow", "vnmi", "flexpriority", "ept", "vpid", "ept_ad", "erms", "cqm",
                "rdt_a", "avx512f", "avx512dq", "avx512ifma", "avx512cd", "avx512bw", "avx512vl",
                "intel_pt", "dtherm", "ida", "arat", "pln", "pts", "avx512vbmi", "avx512_vbmi2",
                "gfni", "vaes", "vpclmulqdq", "avx512_vnni", "avx512_bitalg", "avx512_vpopcntdq",
                "la57", "rdpid", "md_clear", "pconfig", "flush_l1d", "arch_capabilities")
_CASCADE_FLAGS = tuple(f for f in _INTEL_FLAGS if f not in {
    "sha_ni", "avx512ifma", "avx512vbmi", "avx512_vbmi2", "gfni", "vaes", "vpclmulqdq",
    "avx512_bitalg", "avx512_vpopcntdq", "la57", "rdpid", "pconfig", "umip"})
_AMD_FLAGS = (*_X86_COMMON, "mmxext", "fxsr_opt", "extd_apicid", "aperfmperf", "rapl", "cmp_legacy",
              "svm", "extapic", "cr8_legacy", "sse4a", "misalignsse", "osvw", "ibs", "skinit",
              "wdt", "tce", "topoext", "perfctr_core", "perfctr_nb", "bpext", "perfctr_llc",
              "mwaitx", "cpb", "cat_l3", "cdp_l3", "hw_pstate", "sme", "sev", "sev_es", "vmmcall",
              "cqm", "rdt_a", "clzero", "irperf", "xsaveerptr", "rdpru", "wbnoinvd", "amd_ppin",
              "arat", "npt", "lbrv", "svm_lock", "nrip_save", "tsc_scale", "vmcb_clean",
              "flushbyasid", "decodeassists", "pausefilter", "pfthreshold", "v_vmsave_vmload",
              "vgif", "v_spec_ctrl", "vaes", "vpclmulqdq", "rdpid", "overflow_recov", "succor",
              "smca", "fsrm")
_ARM_FLAGS = ("fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2", "crc32", "atomics", "fphp",
              "asimdhp", "cpuid", "asimdrdm", "lrcpc", "dcpop", "asimddp", "ssbs")
_VM_FLAGS = ("fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
             "pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2", "ss",
             "syscall", "nx", "pdpe1gb", "rdtscp", "lm", "constant_tsc", "arch_perfmon", "rep_good",
             "nopl", "xtopology", "cpuid", "tsc_known_freq", "pni", "pclmulqdq", "ssse3", "fma",
             "cx16", "pcid", "sse4_1", "sse4_2", "x2apic", "movbe", "popcnt", "tsc_deadline_timer",
             "aes", "xsave", "avx", "f16c", "rdrand", "hypervisor", "lahf_lm", "abm",
             "3dnowprefetch", "fsgsbase", "bmi1", "avx2", "smep", "bmi2", "erms", "invpcid",
             "avx512f", "avx512dq", "rdseed", "adx", "smap", "clwb", "avx512cd", "avx512bw",
             "avx512vl", "xsaveopt", "xsavec", "xgetbv1", "arat", "avx512_vnni", "md_clear",
             "arch_capabilities")

_GOLD_6338 = _CpuModel("Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", "3200.0000", (32,), 2, (1, 2),
                       _INTEL_FLAGS)
_GOLD_5318Y = _CpuModel("Intel(R) Xeon(R) Gold 5318Y CPU @ 2.10GHz", "3400.0000", (24,), 2, (2,),
                        _INTEL_FLAGS)
_SILVER_4314 = _CpuModel("Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz", "3400.0000", (16,), 2,
                         (1, 2), _INTEL_FLAGS)
_SILVER_4214 = _CpuModel("Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz", "3200.0000", (12,), 2,
                         (2,), _CASCADE_FLAGS)
_GOLD_6248 = _CpuModel("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", "3900.0000", (20,), 2, (2,),
                       _CASCADE_FLAGS)
_EPYC_7543 = _CpuModel("AMD EPYC 7543 32-Core Processor", "3737.8899", (32,), 2, (1, 2),
                       _AMD_FLAGS)
_EPYC_7313P = _CpuModel("AMD EPYC 7313P 16-Core Processor", "3729.4919", (16,), 2, (1,),
                        _AMD_FLAGS)
_ALTRA = _CpuModel("Neoverse-N1", "3000.0000", (80, 128), 1, (1,), _ARM_FLAGS)
_VCPU_ICELAKE = _CpuModel("Intel Xeon Processor (Icelake)", "2095.076", (1, 2, 4, 8), 1, (1,),
                          _VM_FLAGS)
_VCPU_QEMU64 = _CpuModel("QEMU Virtual CPU version 2.5+", "2294.608", (1, 2, 4), 1, (1,),
                         tuple(f for f in _VM_FLAGS if not f.startswith("avx512")))
_VCPU_ARM = _CpuModel("Neoverse-N1", "", (2, 4), 1, (1,), _ARM_FLAGS)


def _dell(product: str, cpus: tuple[_CpuModel, ...]) -> _Model:
    return _Model(
        "Dell Inc.", product, "x86_64", cpus, (_BCM5720, _BCM57416, _X710),
        (_XXV710, _CX4LX, _BCM57414, _E810), (_DELL_BOSS, _DELL_SSD_VD),
        (_DELL_SSD_VD, _DELL_HDD_VD, _DELL_P5600, _DELL_CM6), "Dell Inc.",
        ("1.10.2", "1.13.1", "2.19.1"), "*******", _DELL, _PERC, ("102b", "0536", "04"), weight=3)


def _hpe(product: str, cpus: tuple[_CpuModel, ...], arch: str = "x86_64") -> _Model:
    return _Model(
        "HPE", product, arch, cpus, (_BCM5719, _I350), (_CX5, _E810, _XXV710, _CX6DX),
        (_HPE_SSD_VD, _HPE_SATA), (_HPE_SSD_VD, _HPE_HDD_VD, _HPE_NVME, _HPE_SATA), "HPE",
        ("U46", "U30", "A55"), "CZ@#####@@", _HPE, _SMART_ARRAY, ("102b", "0538", "01"),
        **_arch_traits(arch))


def _arch_traits(arch: str) -> dict[str, Any]:
    # Arm servers boot UEFI only and are a minority of any simulated fleet.
    return {"boot_modes": ("uefi",), "weight": 1} if arch == "aarch64" else {"weight": 2}


def _supermicro(product: str, cpus: tuple[_CpuModel, ...], arch: str = "x86_64") -> _Model:
    return _Model(
        "Supermicro", product, arch, cpus, (_X550, _I350, _X710), (_CX4LX, _CX6DX, _XXV710),
        (_SAMSUNG_SATA, _MICRON_SATA, _INTEL_SATA),
        (_SAMSUNG_NVME, _EXOS_HDD, _SAMSUNG_SATA, _MICRON_SATA),
        "American Megatrends International, LLC.", ("3.6", "1.4a", "2.1"), "S###############",
        _SMC, None, ("1a03", "2000", "52"), **_arch_traits(arch))


def _lenovo(product: str, cpus: tuple[_CpuModel, ...]) -> _Model:
    return _Model(
        "Lenovo", product, "x86_64", cpus, (_X722, _I350), (_CX4LX, _BCM57414, _E810, _CX5),
        (_LENOVO_VD, _INTEL_SATA), (_LENOVO_VD, _KIOXIA_NVME, _SAS_HDD), "Lenovo",
        ("AFE118M-2.10", "U8E122J-1.30", "IVE164K-3.22"), "J30@####", _LENOVO, _MEGARAID,
        ("1a03", "2000", "52"), weight=2)


def _qemu(product: str, arch: str, cpus: tuple[_CpuModel, ...], scheme: str,
          nic: _NicFamily, modes: tuple[str, ...]) -> _Model:
    disks = (_VIRTIO_DISK,) if scheme != "i440fx" else (_VIRTIO_DISK, _QEMU_DISK)
    return _Model(
        "QEMU", product, arch, cpus, (nic,), (nic,), disks, (_VIRTIO_DISK,), "", ("",), "",
        boot_modes=modes, pci_scheme=scheme, weight=_arch_traits(arch)["weight"])


_MODELS: tuple[_Model, ...] = (
    _dell("PowerEdge R650", (_GOLD_6338, _SILVER_4314)),
    _dell("PowerEdge R640", (_SILVER_4214, _GOLD_6248)),
    _dell("PowerEdge R6525", (_EPYC_7543,)),
    _hpe("ProLiant DL360 Gen10 Plus", (_GOLD_6338, _SILVER_4314)),
    _hpe("ProLiant DL385 Gen10 Plus v2", (_EPYC_7543,)),
    _hpe("ProLiant RL300 Gen11", (_ALTRA,), "aarch64"),
    _supermicro("SYS-620U-TNR", (_GOLD_6338, _GOLD_5318Y)),
    _supermicro("AS -1114S-WN10RT", (_EPYC_7313P,)),
    _supermicro("ARS-110M-NR", (_ALTRA,), "aarch64"),
    _lenovo("ThinkSystem SR650 V2", (_GOLD_5318Y, _GOLD_6338)),
    _lenovo("ThinkSystem SR630", (_SILVER_4214, _GOLD_6248)),
    _qemu("Standard PC (Q35 + ICH9, 2009)", "x86_64", (_VCPU_ICELAKE,), "q35", _VIRTIO_NET,
          ("uefi", "bios")),
    _qemu("Standard PC (i440FX + PIIX, 1996)", "x86_64", (_VCPU_QEMU64,), "i440fx",
          _VIRTIO_NET_LEGACY, ("bios",)),
    _qemu("Standard PC (Q35 + ICH9, 2009)", "x86_64", (_VCPU_ICELAKE,), "q35", _E1000E,
          ("uefi",)),
    _qemu("KVM Virtual Machine", "aarch64", (_VCPU_ARM,), "q35", _VIRTIO_NET, ("uefi",)),
)

_LOM_BUS = 0x04
_CARD_BUSES = (0x17, 0x31, 0x4b, 0x98, 0xb1, 0xca, 0xe3)
_NVME_BUSES = (0xc1, 0xc2, 0xc3, 0xc4, 0xe1, 0xe2)
_GPU_BUS = 0x3b
_AHCI = "0000:00:17.0"
_SAS_HBA_BUS = 0x5e


# --------------------------------------------------------------------------------------------
# Small deterministic helpers
# --------------------------------------------------------------------------------------------

def _rng(seed: int, index: int, part: str) -> random.Random:
    # String seeds are hashed with SHA-512 by random.Random: stable across runs and platforms.
    return random.Random(f"metalscope-sim:{seed}:{index}:{part}")


def _fill(rng: random.Random, pattern: str) -> str:
    """Expand a serial-number pattern: ``#`` digit, ``@`` letter, ``*`` alnum, ``%`` hex."""
    alphabet = {"#": "0123456789", "@": "ABCDEFGHJKLMNPQRSTUVWXYZ",
                "*": "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", "%": "0123456789abcdef"}
    return "".join(rng.choice(alphabet[c]) if c in alphabet else c for c in pattern)


def _mac(oui: str, low24: int) -> str:
    return f"{oui}:{low24 >> 16 & 0xff:02x}:{low24 >> 8 & 0xff:02x}:{low24 & 0xff:02x}"


def _mac_low24(seed: int, index: int, slot: int) -> int:
    """Three MAC bytes unique per ``(index, slot)`` within a seed (a bijection under a mask)."""
    mask = random.Random(f"metalscope-sim:{seed}:mac-mask").getrandbits(24)
    return ((index << 4) | slot) ^ mask


def _link_local(mac: str, ifname: str) -> str:
    octets = [int(part, 16) for part in mac.split(":")]
    eui64 = bytes([octets[0] ^ 0x02, *octets[1:3], 0xff, 0xfe, *octets[3:]])
    address = ipaddress.IPv6Address(b"\xfe\x80" + b"\x00" * 6 + eui64)
    return f"{address}%{ifname}"


def _pci(bus: int, function: int = 0, device: int = 0) -> str:
    return f"0000:{bus:02x}:{device:02x}.{function}"


def _numa_node(model: _Model, sockets: int, bus: int) -> str:
    if model.virtual:
        return "-1"
    return "1" if sockets > 1 and bus >= 0x80 else "0"


# --------------------------------------------------------------------------------------------
# Building a node
# --------------------------------------------------------------------------------------------

_SELECTORS = ("vendor", "model", "architecture", "virtual")


def make_node(seed: int, index: int, **overrides: Any) -> SimulatedNode:
    """Build machine ``index`` of the fleet generated from ``seed``, deterministically.

    Overrides that shape the hardware: ``vendor``/``model`` (case-insensitive substring of the
    manufacturer/product name), ``architecture`` and ``virtual`` select the catalogue entry;
    ``macs`` (one NIC per MAC, in order) or ``nic_count`` (1-16) set the NICs; ``pxe_mac`` picks
    the NIC that booted; ``name`` also appears in LLDP port descriptions and logs. Any other
    keyword replaces the :class:`SimulatedNode` field of that name (``bmc_address=...``,
    ``bmc_v6address=...``, ``boot_mode="bios"``...). Raises ValueError for impossible requests
    and TypeError for an unknown keyword.
    """
    if not 0 <= index < MAX_INDEX:
        raise ValueError(f"index must be in [0, {MAX_INDEX}), got {index}")
    options = dict(overrides)
    selectors = {key: options.pop(key) for key in _SELECTORS if key in options}
    model = _pick_model(_rng(seed, index, "model"), selectors)
    name = str(options.pop("name", f"sim-{seed}-{index:04d}"))
    macs = tuple(str(mac).lower() for mac in options.pop("macs", ()))
    nic_count = options.pop("nic_count", None)
    count = len(macs) or int(nic_count or _nic_count(seed, index))
    if not 1 <= count <= 16:
        raise ValueError(f"a simulated node has 1 to 16 NICs, not {count}")
    pxe_mac = options.pop("pxe_mac", None)
    request = _NicRequest(count, macs, str(pxe_mac).lower() if pxe_mac else None)
    node = _assemble(seed, index, name, model, request)
    return dataclasses.replace(node, **options) if options else node


def make_fleet(seed: int, count: int, *, start: int = 0) -> list[SimulatedNode]:
    """Machines ``start`` .. ``start + count - 1`` of the fleet generated from ``seed``."""
    return [make_node(seed, index) for index in range(start, start + count)]


@dataclass(frozen=True)
class _NicRequest:
    count: int
    macs: tuple[str, ...]
    pxe_mac: str | None


def _pick_model(rng: random.Random, selectors: dict[str, Any]) -> _Model:
    candidates = [model for model in _MODELS if _matches(model, selectors)]
    if not candidates:
        wanted = ", ".join(f"{k}={v!r}" for k, v in selectors.items())
        raise ValueError(f"no simulated hardware matches {wanted}")
    return rng.choices(candidates, weights=[model.weight for model in candidates])[0]


def _matches(model: _Model, selectors: dict[str, Any]) -> bool:
    checks: dict[str, Callable[[Any], bool]] = {
        "vendor": lambda v: str(v).lower() in model.vendor.lower(),
        "model": lambda v: str(v).lower() in model.product.lower(),
        "architecture": lambda v: v == model.architecture,
        "virtual": lambda v: bool(v) == model.virtual,
    }
    return all(checks[key](value) for key, value in selectors.items())


def _nic_count(seed: int, index: int) -> int:
    # A per-seed permutation of 1..8 repeated along the fleet: any 8 consecutive nodes cover
    # every NIC count, which the tests and benchmarks rely on.
    cycle = list(range(1, 9))
    random.Random(f"metalscope-sim:{seed}:nic-cycle").shuffle(cycle)
    return cycle[index % 8]


def _assemble(seed: int, index: int, name: str, model: _Model,
              request: _NicRequest) -> SimulatedNode:
    rng = _rng(seed, index, "system")
    cpu = _build_cpu(_rng(seed, index, "cpu"), model)
    nics, pxe = _build_nics(seed, index, name, model, request)
    disks = _build_disks(_rng(seed, index, "disks"), model)
    bmc_v4, bmc_v6, bmc_mac = _build_bmc(_rng(seed, index, "bmc"), seed, index, model)
    memory_mb, memory_total = _build_memory(_rng(seed, index, "memory"), model, cpu.socket_count)
    boot_mode = rng.choice(model.boot_modes)
    firmware = _vm_firmware(boot_mode) if model.virtual else _build_firmware(rng, model)
    pci = _build_pci(_rng(seed, index, "pci"), model, cpu.socket_count, nics, disks)
    dimms = build_dimms(_rng(seed, index, "dimms"), vendor=model.vendor,
                        sockets=1 if model.virtual else cpu.socket_count, memory_mb=memory_mb,
                        virtual=model.virtual, speed=_dimm_speed(cpu))
    return SimulatedNode(
        name=name, seed=seed, index=index, vendor=model.vendor, model=model.product,
        serial_number=_fill(rng, model.serial), firmware_vendor=firmware[0],
        firmware_version=firmware[1], firmware_date=firmware[2], virtual=model.virtual,
        boot_mode=boot_mode, nics=nics, pxe_mac=pxe.mac_address, bmc_address=bmc_v4,
        bmc_v6address=bmc_v6, bmc_mac=bmc_mac, cpu=cpu, memory_mb=memory_mb,
        memory_total=memory_total, disks=disks, pci_devices=pci, hostname=_hostname(rng, pxe),
        extra_hardware=not model.virtual and rng.random() < 0.3, dimms=dimms,
        bmc_firmware=_bmc_firmware(_rng(seed, index, "bmc-firmware"), model))


#: BMC firmware versions by system manufacturer (iDRAC, iLO, Supermicro BMC, XCC).
_BMC_FIRMWARE = {"Dell Inc.": ("6.10", "7.00"), "HPE": ("2.78", "2.81", "1.55"),
                 "Supermicro": ("1.02", "1.05"), "Lenovo": ("6.41", "8.40")}


def _bmc_firmware(rng: random.Random, model: _Model) -> str | None:
    versions = _BMC_FIRMWARE.get(model.vendor)
    return rng.choice(versions) if versions and not model.virtual else None


def _dimm_speed(cpu: SimulatedCpu) -> int:
    # The fastest DDR4 the memory controller runs: Cascade Lake Silver 2400, Gold 2933.
    if "4214" in cpu.model_name:
        return 2400
    return 2933 if "6248" in cpu.model_name else 3200


def _hostname(rng: random.Random, pxe: SimulatedNic) -> str:
    if rng.random() < 0.8 or not pxe.ipv4_address:
        return "localhost.localdomain"
    return "host-" + pxe.ipv4_address.replace(".", "-")  # a DHCP-provided name


def _build_cpu(rng: random.Random, model: _Model) -> SimulatedCpu:
    spec = rng.choice(model.cpus)
    sockets = rng.choice(spec.sockets)
    count = rng.choice(spec.cores) * spec.threads * sockets
    if model.virtual:
        sockets = count  # QEMU's default topology: one socket per vCPU
    return SimulatedCpu(spec.model_name, spec.frequency, count, model.architecture, spec.flags,
                        sockets)


def _build_memory(rng: random.Random, model: _Model, sockets: int) -> tuple[int, int]:
    if model.virtual:
        choices: tuple[int, ...] = (2048, 4096, 8192, 16384)
    elif sockets > 1:
        choices = (131072, 196608, 262144, 393216, 524288, 786432, 1048576)
    else:
        choices = (32768, 65536, 131072, 262144)
    physical_mb = rng.choice(choices)
    usable = physical_mb * MIB * (1 - rng.uniform(0.012, 0.03))  # firmware and kernel reserve
    return physical_mb, int(usable) // 4096 * 4096


def _build_firmware(rng: random.Random, model: _Model) -> tuple[str, str, str]:
    date = f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(2021, 2024)}"
    return model.firmware_vendor, rng.choice(model.firmware_versions), date


def _vm_firmware(boot_mode: str) -> tuple[str, str, str]:
    if boot_mode == "uefi":
        return "EFI Development Kit II / OVMF", "0.0.0", "02/06/2015"
    return "SeaBIOS", "1.16.3-debian-1.16.3-2", "04/01/2014"


def _build_bmc(rng: random.Random, seed: int, index: int,
               model: _Model) -> tuple[str | None, str | None, str | None]:
    if model.virtual:
        return None, None, None  # no IPMI device: IPA reports null addresses and no MAC
    v4 = _bmc_v4(index)
    v6 = str(ipaddress.IPv6Address("2001:db8:b3c::") + index + 1)
    mac = _mac(rng.choice(model.bmc_ouis), _mac_low24(seed, index, _BMC_SLOT))
    draw = rng.random()
    if draw < 0.70:
        return v4, "::/0", mac
    if draw < 0.85:
        return v4, v6, mac
    if draw < 0.93:
        return "0.0.0.0", v6, mac
    return "0.0.0.0", "::/0", None  # unconfigured BMC: IPA cannot read its MAC either


def _bmc_v4(index: int) -> str:
    if index < 254:
        return str(ipaddress.IPv4Address("203.0.113.0") + index + 1)
    return str(ipaddress.IPv4Address("198.18.0.0") + index)


# --------------------------------------------------------------------------------------------
# NICs
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _NicSlot:
    name: str
    family: _NicFamily
    pci_address: str
    biosdevname: str | None


def _build_nics(seed: int, index: int, name: str, model: _Model,
                request: _NicRequest) -> tuple[tuple[SimulatedNic, ...], SimulatedNic]:
    rng = _rng(seed, index, "nics")
    slots = _nic_slots(rng, model, request.count)
    ouis = {slot.family: rng.choice(slot.family.ouis) for slot in slots}  # one per card
    macs = request.macs or tuple(_mac(ouis[slot.family], _mac_low24(seed, index, number))
                                 for number, slot in enumerate(slots))
    pxe = _pxe_position(rng, slots, macs, request.pxe_mac)
    carriers = [slot.family.infiniband or number == pxe or rng.random() < 0.6
                for number, slot in enumerate(slots)]
    nics = [_nic(slot, mac, carrier)
            for slot, mac, carrier in zip(slots, macs, carriers, strict=True)]
    nics = _address_nics(rng, index, nics, pxe)
    if not model.virtual:
        nics = _cable_nics(rng, seed, index, name, nics, pxe)
    return tuple(nics), nics[pxe]


def _nic_slots(rng: random.Random, model: _Model, count: int) -> list[_NicSlot]:
    if model.virtual:
        return [_vm_nic_slot(model, number) for number in range(count)]
    infiniband = count >= 3 and rng.random() < 0.2
    ethernet = count - int(infiniband)
    lom = rng.choice(model.lom)
    slots = [_NicSlot(f"eno{n + 1}", lom, _pci(_LOM_BUS, n), _biosdevname(model, f"em{n + 1}"))
             for n in range(min(ethernet, lom.ports))]
    card = rng.choice(model.cards)
    for n in range(ethernet - len(slots)):
        slot, port = divmod(n, card.ports)
        slots.append(_card_slot(model, card, slot + 1, port))
    if infiniband:
        slots.append(_NicSlot("ib0", _IB_CX6, _pci(_CARD_BUSES[-1]), None))
    return slots


def _card_slot(model: _Model, card: _NicFamily, slot: int, port: int) -> _NicSlot:
    suffix = f"np{port}" if card.vendor == "0x15b3" else ""  # mlx5 physical port names
    return _NicSlot(f"ens{slot}f{port}{suffix}", card, _pci(_CARD_BUSES[slot - 1], port),
                    _biosdevname(model, f"p{slot}p{port + 1}"))


def _vm_nic_slot(model: _Model, number: int) -> _NicSlot:
    name = f"ens{3 + number}" if model.pci_scheme == "i440fx" else f"enp{number + 1}s0"
    family = model.lom[0]
    # A virtio NIC's sysfs "device" is the virtio bus device (virtioN), not the PCI function.
    address = f"virtio{number}" if family.virtio else _vm_nic_pci(model, number)
    return _NicSlot(name, family, address, None)


def _vm_nic_pci(model: _Model, number: int) -> str:
    return _pci(0, 0, 3 + number) if model.pci_scheme == "i440fx" else _pci(number + 1)


def _biosdevname(model: _Model, value: str) -> str | None:
    return value if model.architecture == "x86_64" else None  # biosdevname is x86-only


def _pxe_position(rng: random.Random, slots: Sequence[_NicSlot], macs: Sequence[str],
                  pxe_mac: str | None) -> int:
    if pxe_mac is not None:
        if pxe_mac not in macs:
            raise ValueError(f"pxe_mac {pxe_mac} is not among the node's MACs {list(macs)}")
        return list(macs).index(pxe_mac)
    ethernet = [n for n, slot in enumerate(slots) if not slot.family.infiniband]
    # Mostly the first onboard port; sometimes a faster add-in card port boots instead.
    return ethernet[1] if len(ethernet) > 1 and rng.random() < 0.15 else ethernet[0]


def _nic(slot: _NicSlot, mac: str, carrier: bool) -> SimulatedNic:
    family = slot.family
    if family.infiniband:
        # IPA's Mellanox manager reports neither speed, PCI address nor driver for IPoIB.
        return SimulatedNic(slot.name, mac, family.vendor, family.product, None, None, None,
                            True, infiniband=True)
    product = "0x0001" if family.virtio else family.product  # virtio-net's virtio device id
    return SimulatedNic(slot.name, mac, family.vendor, product, family.driver, slot.pci_address,
                        family.speed_mbps if carrier else None, carrier,
                        ipv6_address=_link_local(mac, slot.name) if carrier else None,
                        biosdevname=slot.biosdevname)


def _address_nics(rng: random.Random, index: int, nics: list[SimulatedNic],
                  pxe: int) -> list[SimulatedNic]:
    result = []
    for number, nic in enumerate(nics):
        ip: str | None = None
        if number == pxe:
            ip = f"192.0.2.{10 + index % 240}"
        elif nic.has_carrier and (nic.infiniband or rng.random() < 0.4):
            ip = f"198.51.100.{10 + (index * 8 + number) % 180}"
        result.append(dataclasses.replace(nic, ipv4_address=ip))
    return result


# --------------------------------------------------------------------------------------------
# Switches (LLDP neighbours)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _SwitchOs:
    description: str
    oui: str
    port_format: str  # formatted with n (1-based), z (0-based) and q (4 * z)
    mtu: int
    capabilities_enabled: int


_SWITCH_OSES = (
    _SwitchOs("Arista Networks EOS version 4.30.2F running on an Arista Networks "
              "DCS-7050SX3-48YC8", "44:4c:a8", "Ethernet{n}", 9214, 0x0014),
    _SwitchOs("Cisco Nexus Operating System (NX-OS) Software 10.3(4a)", "70:0f:6a",
              "Ethernet1/{n}", 9216, 0x0014),
    _SwitchOs("Juniper Networks, Inc. qfx5120-48y-8c Ethernet Switch, kernel JUNOS 22.2R3",
              "3c:61:04", "et-0/0/{z}", 9216, 0x0014),
    _SwitchOs("Cumulus Linux version 5.6.0 running on Mellanox Technologies Ltd. MSN2410",
              "1c:34:da", "swp{n}", 9216, 0x0004),
    _SwitchOs("SONiC Software Version: SONiC.202311 - HwSku: Accton-AS7726-32X", "80:a2:35",
              "Ethernet{q}", 9100, 0x0004),
)
_NODES_PER_RACK = 16
_SWITCH_CAPABILITIES = 0x0014  # bridge + router supported


def _cable_nics(rng: random.Random, seed: int, index: int, name: str,
                nics: list[SimulatedNic], pxe: int) -> list[SimulatedNic]:
    result, cabled = [], 0
    for number, nic in enumerate(nics):
        # A few switch ports do not run LLDP: those NICs get no neighbour at all.
        if nic.has_carrier and not nic.infiniband and rng.random() < 0.85:
            nic = dataclasses.replace(
                nic, switch=_switch_port(seed, index, name, nic, cabled, number == pxe))
            cabled += 1
        result.append(nic)
    return result


def _switch_port(seed: int, index: int, name: str, nic: SimulatedNic, ordinal: int,
                 pxe: bool) -> SwitchPort:
    rack, side = index // _NODES_PER_RACK, ordinal % 2
    system = random.Random(f"metalscope-sim:{seed}:rack:{rack}").choice(_SWITCH_OSES)
    chassis = random.Random(f"metalscope-sim:{seed}:switch:{rack}:{side}").getrandbits(24)
    number = index % _NODES_PER_RACK + 1 + _NODES_PER_RACK * (ordinal // 2)
    vlans = ((100, "provisioning"),) if pxe else (
        (200 + rack % 50, f"tenant-{rack}"), (300, "storage"))
    return SwitchPort(
        chassis_mac=_mac(system.oui, chassis),
        port_id=system.port_format.format(n=number, z=number - 1, q=4 * (number - 1)),
        system_name=f"tor-r{rack:02d}{'ab'[side]}", system_description=system.description,
        port_description=f"{name} {nic.name}",
        management_ipv4=f"198.51.100.{200 + (rack * 2 + side) % 54}",
        port_vlan_id=100 if pxe else None, vlans=vlans, mtu=system.mtu,
        mau_type={1000: 30, 10000: 36}.get(nic.speed_mbps or 0), if_index=number,
        capabilities_enabled=system.capabilities_enabled)


# --------------------------------------------------------------------------------------------
# Disks
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Placement:
    """Where a disk sits: the identifiers that depend on its controller."""

    serial: str | None
    wwn: str | None
    wwn_vendor_extension: str | None
    hctl: str | None
    by_path: str | None
    tran: str | None


def _build_disks(rng: random.Random, model: _Model) -> tuple[SimulatedDisk, ...]:
    extra_choices = (0, 0, 1) if model.virtual else (0, 1, 1, 2, 2, 3, 4, 5)
    specs = [rng.choice(model.boot_disks)]
    specs += [rng.choice(model.data_disks) for _ in range(rng.choice(extra_choices))]
    counters: dict[str, int] = {}
    disks = []
    for spec in specs:
        position = counters.get(spec.kind, 0)
        counters[spec.kind] = position + 1
        placement = _placement(rng, model, spec, position)
        disks.append(SimulatedDisk(
            _disk_name(counters, spec.kind), spec.model, rng.choice(spec.sizes), spec.rotational,
            spec.vendor, placement.serial, placement.wwn, placement.wwn_vendor_extension,
            placement.hctl, placement.by_path, placement.tran,
            physical_sectors=spec.physical_sectors))
    return tuple(disks)


def _disk_name(counters: dict[str, int], kind: str) -> str:
    if kind == "nvme":
        return f"/dev/nvme{counters['nvme'] - 1}n1"
    if kind == "virtio":
        return f"/dev/vd{chr(ord('a') + counters['virtio'] - 1)}"
    scsi = sum(n for other, n in counters.items() if other not in ("nvme", "virtio"))
    return f"/dev/sd{chr(ord('a') + scsi - 1)}"


def _placement(rng: random.Random, model: _Model, spec: _DiskModel, k: int) -> _Placement:
    serial = _fill(rng, spec.serial) if spec.serial else None
    naa5 = f"0x5{spec.naa_oui}{rng.getrandbits(36):09x}" if spec.naa_oui else None
    if spec.kind == "raid" and model.raid is not None:
        return _raid_placement(rng, model.raid, k)
    if spec.kind == "nvme":
        bus = _pci(_NVME_BUSES[k % len(_NVME_BUSES)])
        return _Placement(serial, f"eui.{rng.getrandbits(64):016x}", None, None,
                          f"/dev/disk/by-path/pci-{bus}-nvme-1", "nvme")
    if spec.kind == "sas":
        # Pass-through disks behind the RAID controller: same SCSI host, channel 0.
        bus = _pci(model.raid.bus if model.raid else _SAS_HBA_BUS)
        return _Placement(serial, naa5, None, f"0:0:{k}:0",
                          f"/dev/disk/by-path/pci-{bus}-scsi-0:0:{k}:0", "sas")
    if spec.kind == "virtio":
        return _Placement(None, None, None, None,
                          f"/dev/disk/by-path/pci-{_vm_disk_pci(model, k)}", None)
    if spec.kind == "qemu-sata":
        return _Placement(f"QM{k + 1:05d}", None, None, f"{k}:0:0:0",
                          f"/dev/disk/by-path/pci-0000:00:1f.2-ata-{k + 1}", "sata")
    host = k + (2 if model.raid else 0)  # AHCI ports come after the RAID controller's hosts
    return _Placement(serial, naa5, None, f"{host}:0:0:0",
                      f"/dev/disk/by-path/pci-{_AHCI}-ata-{k + 1}", "sata")


def _raid_placement(rng: random.Random, raid: _RaidController, k: int) -> _Placement:
    # Hardware RAID volumes carry an NAA-6 WWN with a vendor extension; udev's serial is both.
    wwn = f"0x6{raid.naa_oui}{rng.getrandbits(36):09x}"
    extension = f"0x{rng.getrandbits(64):016x}"
    hctl = raid.hctl.format(k=k)
    return _Placement(wwn[2:] + extension[2:], wwn, extension, hctl,
                      f"/dev/disk/by-path/pci-{_pci(raid.bus)}-scsi-{hctl}", None)


def _vm_disk_pci(model: _Model, k: int) -> str:
    return _pci(0, 0, 0x0a + k) if model.pci_scheme == "i440fx" else _pci(0x10 + k)


# --------------------------------------------------------------------------------------------
# PCI devices
# --------------------------------------------------------------------------------------------

def _build_pci(rng: random.Random, model: _Model, sockets: int, nics: Sequence[SimulatedNic],
               disks: Sequence[SimulatedDisk]) -> tuple[SimulatedPciDevice, ...]:
    if model.virtual:
        return tuple(_vm_pci(model, nics, disks))
    devices = [_nic_pci(model, sockets, nic) for nic in nics]
    if model.raid is not None:
        devices.append(_pci_device(model, sockets, _pci(model.raid.bus), model.raid.vendor_id,
                                   model.raid.product_id, "010400", "00"))
    devices += [_pci_device(model, sockets, _disk_pci(disk), "144d", "a824", "010802", "00")
                for disk in disks if disk.tran == "nvme"]
    if model.vga is not None:
        vendor, product, revision = model.vga
        devices.append(_pci_device(model, sockets, _pci(0x03), vendor, product, "030000",
                                   revision))
    if model.architecture == "x86_64" and rng.random() < 0.2:
        devices.append(_pci_device(model, sockets, _pci(_GPU_BUS), "10de", "1eb8", "030200",
                                   "a1"))
    return tuple(sorted(devices, key=lambda device: device.bus))


def _disk_pci(disk: SimulatedDisk) -> str:
    match = re.search(r"pci-([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])", disk.by_path or "")
    return match.group(1) if match else _pci(0)


def _nic_pci(model: _Model, sockets: int, nic: SimulatedNic) -> SimulatedPciDevice:
    family = _IB_CX6 if nic.infiniband else next(
        f for f in _NIC_FAMILIES if (f.vendor, f.product) == (nic.vendor, nic.product))
    address = _pci(_CARD_BUSES[-1]) if nic.infiniband else (nic.pci_address or _pci(0))
    return _pci_device(model, sockets, address, family.vendor, family.product, family.pci_class,
                       family.revision)


def _pci_device(model: _Model, sockets: int, address: str, vendor: str, product: str,
                pci_class: str, revision: str) -> SimulatedPciDevice:
    bus = int(address.split(":")[1], 16)
    return SimulatedPciDevice(address, vendor.removeprefix("0x"), product.removeprefix("0x"),
                              pci_class, revision, _numa_node(model, sockets, bus))


def _vm_pci(model: _Model, nics: Sequence[SimulatedNic],
            disks: Sequence[SimulatedDisk]) -> list[SimulatedPciDevice]:
    family = model.lom[0]
    devices = [SimulatedPciDevice(_vm_nic_pci(model, number), family.vendor[2:],
                                  family.product[2:], "020000", family.revision, "-1")
               for number in range(len(nics))]
    block = "1042" if model.pci_scheme == "q35" else "1001"  # modern / transitional virtio-blk
    devices += [SimulatedPciDevice(_disk_pci(disk), "1af4", block, "010000", "01", "-1")
                for disk in disks if disk.name.startswith("/dev/vd")]
    return devices


# --------------------------------------------------------------------------------------------
# LLDP TLVs, encoded as IPA sends them: [type, hex of the TLV value]
# --------------------------------------------------------------------------------------------

_OUI_8021 = bytes.fromhex("0080c2")
_OUI_8023 = bytes.fromhex("00120f")
# 802.3 auto-negotiation advertised capabilities (RFC 4836 bit order, bit 0 is the MSB):
# 10BASE-T, 10BASE-T full duplex, 100BASE-TX, 100BASE-TX full duplex, 1000BASE-T full duplex.
_COPPER_1G_ADVERTISED = sum(1 << (15 - bit) for bit in (1, 2, 4, 5, 15))


def lldp_tlvs(port: SwitchPort) -> list[list[Any]]:
    """The TLVs a switch port advertises, as ``[type, "hex value"]`` pairs, End TLV last.

    Chassis ID (MAC subtype), Port ID (interface-name subtype) and TTL come first, as 802.1AB
    requires; then port description, system name and description, capabilities, management
    address, 802.1 port VLAN and VLAN names, 802.3 MAC/PHY status and maximum frame size.
    """
    values: list[tuple[int, bytes]] = [
        (1, b"\x04" + _mac_bytes(port.chassis_mac)),
        (2, b"\x05" + port.port_id.encode()),
        (3, struct.pack("!H", port.ttl)),
        (4, port.port_description.encode()),
        (5, port.system_name.encode()),
        (6, port.system_description.encode()),
        (7, struct.pack("!HH", _SWITCH_CAPABILITIES, port.capabilities_enabled)),
        (8, _management_address(port)),
    ]
    if port.port_vlan_id is not None:
        values.append((127, _OUI_8021 + b"\x01" + struct.pack("!H", port.port_vlan_id)))
    values += [(127, _OUI_8021 + b"\x03" + struct.pack("!HB", vid, len(name)) + name.encode())
               for vid, name in port.vlans]
    if port.mau_type is not None:
        values.append((127, _OUI_8023 + b"\x01" + _mac_phy_status(port.mau_type)))
    values.append((127, _OUI_8023 + b"\x04" + struct.pack("!H", port.mtu)))
    values.append((0, b""))
    return [[kind, value.hex()] for kind, value in values]


def _mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def _management_address(port: SwitchPort) -> bytes:
    address = ipaddress.IPv4Address(port.management_ipv4).packed
    # length of (subtype + address), subtype 1 = IPv4, the address, interface numbering
    # subtype 2 = ifIndex, the interface number, and an empty OID.
    return (struct.pack("!BB", 1 + len(address), 1) + address
            + struct.pack("!BIB", 2, port.if_index, 0))


def _mac_phy_status(mau_type: int) -> bytes:
    if mau_type == 30:  # 1000BASE-T: auto-negotiation supported and enabled
        return struct.pack("!BHH", 0b11, _COPPER_1G_ADVERTISED, mau_type)
    return struct.pack("!BHH", 0, 0, mau_type)  # optics: fixed speed


# --------------------------------------------------------------------------------------------
# Rendering the document IPA posts
# --------------------------------------------------------------------------------------------

def ramdisk_data(node: SimulatedNode, *, error: str | None = None, with_logs: bool = True,
                 with_lldp: bool = True, with_pci_devices: bool = True,
                 with_extra_hardware: bool | None = None,
                 with_dmi: bool = True) -> dict[str, Any]:
    """The JSON object IPA's inspection collectors would post for ``node``.

    Keys appear in IPA's order: ``inventory``, ``root_disk``, ``boot_interface`` and
    ``configuration`` (the ``default`` collector), then ``pci_devices``, ``dmi`` (the
    ``dmi-decode`` collector, with the DIMMs), ``lldp_raw``, ``data`` as enabled, ``logs``
    last among collectors, and ``error`` (``None`` unless a ramdisk failure is simulated).
    ``with_extra_hardware=None`` follows ``node.extra_hardware``. With LLDP on, interfaces
    carry their TLVs both in ``lldp`` (IPA's ``ipa-collect-lldp``) and in ``lldp_raw`` (the
    ``lldp`` collector); interfaces that heard nothing get an empty list.
    """
    extra = node.extra_hardware if with_extra_hardware is None else with_extra_hardware
    collectors = ["default"] + [name for name, enabled in (
        ("pci-devices", with_pci_devices), ("dmi-decode", with_dmi and bool(node.dimms)),
        ("lldp", with_lldp), ("extra-hardware", extra),
        ("logs", with_logs)) if enabled]
    data: dict[str, Any] = {"inventory": _inventory(node, with_lldp)}
    root = _root_disk(node.disks)
    if root is not None:
        data["root_disk"] = _disk_dict(root)
    data["boot_interface"] = node.boot_interface
    data["configuration"] = {"collectors": collectors, "managers": _managers(node)}
    if with_pci_devices:
        data["pci_devices"] = [_pci_dict(device) for device in node.pci_devices]
    if with_dmi and node.dimms:
        data["dmi"] = dmi_section(node)
    if with_lldp:
        data["lldp_raw"] = {nic.name: _nic_lldp(nic) for nic in node.nics}
    if extra:
        data["data"] = _extra_hardware(node)
    if with_logs:
        data["logs"] = ramdisk_logs(node)
    data["error"] = error
    return data


def _inventory(node: SimulatedNode, with_lldp: bool) -> dict[str, Any]:
    inventory: dict[str, Any] = {
        "interfaces": [_interface_dict(nic, with_lldp) for nic in node.nics],
        "cpu": {"model_name": node.cpu.model_name, "frequency": node.cpu.frequency,
                "count": node.cpu.count, "architecture": node.cpu.architecture,
                "flags": list(node.cpu.flags), "socket_count": node.cpu.socket_count},
        "disks": [_disk_dict(disk) for disk in node.disks],
        "memory": {"total": node.memory_total, "physical_mb": node.memory_mb},
        **_bmc_fields(node),
        "system_vendor": {
            "product_name": node.model, "serial_number": node.serial_number,
            "manufacturer": node.vendor,
            "firmware": {"vendor": node.firmware_vendor, "version": node.firmware_version,
                         "build_date": node.firmware_date}},
        # IPA copies the BOOTIF kernel parameter verbatim into both places.
        "boot": {"current_boot_mode": node.boot_mode, "pxe_interface": node.boot_interface},
        "hostname": node.hostname,
    }
    if node.bmc_mac is not None:
        inventory["bmc_mac"] = node.bmc_mac
    return inventory


def _bmc_fields(node: SimulatedNode) -> dict[str, str | None]:
    if node.bmc_address is None and node.bmc_v6address is None:
        return {"bmc_address": None, "bmc_v6address": None}  # no IPMI device at all
    # A BMC exists: an address it does not have is reported as IPA's "unknown" value.
    return {"bmc_address": node.bmc_address or "0.0.0.0",
            "bmc_v6address": node.bmc_v6address or "::/0"}


def _interface_dict(nic: SimulatedNic, with_lldp: bool) -> dict[str, Any]:
    return {
        "name": nic.name, "mac_address": nic.mac_address, "ipv4_address": nic.ipv4_address,
        "ipv6_address": nic.ipv6_address, "has_carrier": nic.has_carrier,
        "lldp": _nic_lldp(nic) if with_lldp else None, "vendor": nic.vendor,
        "product": nic.product, "client_id": nic.client_id, "biosdevname": nic.biosdevname,
        "speed_mbps": nic.speed_mbps, "pci_address": nic.pci_address, "driver": nic.driver,
    }


def _nic_lldp(nic: SimulatedNic) -> list[list[Any]]:
    return lldp_tlvs(nic.switch) if nic.switch is not None else []


def _disk_dict(disk: SimulatedDisk) -> dict[str, Any]:
    return {
        "name": disk.name, "model": disk.model, "size": disk.size, "rotational": disk.rotational,
        "wwn": disk.wwn, "serial": disk.serial, "vendor": disk.vendor,
        "wwn_with_extension": disk.wwn_with_extension,
        "wwn_vendor_extension": disk.wwn_vendor_extension, "hctl": disk.hctl,
        "by_path": disk.by_path, "logical_sectors": disk.logical_sectors,
        "physical_sectors": disk.physical_sectors, "tran": disk.tran,
    }


def _root_disk(disks: Sequence[SimulatedDisk]) -> SimulatedDisk | None:
    # IPA's choice without root device hints: the smallest disk of at least 4 GiB, ties broken
    # by name.
    eligible = sorted((d for d in disks if d.size >= _MIN_ROOT_DISK),
                      key=lambda d: (d.size, d.name))
    return eligible[0] if eligible else None


def _managers(node: SimulatedNode) -> list[dict[str, str]]:
    managers = [{"name": "generic_hardware_manager", "version": "1.2"}]
    if any(nic.vendor == "0x15b3" for nic in node.nics):
        managers.insert(0, {"name": "MellanoxDeviceHardwareManager", "version": "1"})
    return managers


def _pci_dict(device: SimulatedPciDevice) -> dict[str, Any]:
    return {"vendor_id": device.vendor_id, "product_id": device.product_id,
            "class": device.pci_class, "revision": device.revision, "bus": device.bus,
            "numa_node_id": device.numa_node_id}


def _extra_hardware(node: SimulatedNode) -> list[list[str]]:
    """python-hardware's ``hardware-detect`` output: ``[category, item, key, value]`` rows."""
    rows = [
        ["system", "product", "vendor", node.vendor],
        ["system", "product", "name", node.model],
        ["system", "product", "serial", node.serial_number],
        ["firmware", "bios", "vendor", node.firmware_vendor],
        ["firmware", "bios", "version", node.firmware_version],
        ["firmware", "bios", "date", node.firmware_date],
        ["cpu", "physical", "number", str(node.cpu.socket_count)],
        ["cpu", "logical", "number", str(node.cpu.count)],
        ["memory", "total", "size", str(node.memory_mb * MIB)],
        ["disk", "logical", "count", str(len(node.disks))],
    ]
    rows += [["disk", disk.name.removeprefix("/dev/"), "size", str(disk.size // 1000**3)]
             for disk in node.disks]
    for nic in node.nics:
        rows.append(["network", nic.name, "serial", nic.mac_address])
        rows.append(["network", nic.name, "link", "yes" if nic.has_carrier else "no"])
    if node.bmc_address not in (None, "0.0.0.0"):
        rows.append(["ipmi", "lan", "ip-address", str(node.bmc_address)])
    return rows


def ramdisk_logs(node: SimulatedNode) -> str:
    """A base64 gzipped tarball holding one small ``journal`` text file, as the logs collector.

    Byte-for-byte deterministic: fixed tar and gzip timestamps.
    """
    journal = "\n".join([
        f"simulated ramdisk of {node.name} ({node.vendor} {node.model})",
        f"booted from {node.pxe_mac} in {node.boot_mode} mode",
        f"found {len(node.nics)} network interface(s) and {len(node.disks)} disk(s)",
        "posting the inventory to the inspection callback", "",
    ]).encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("journal")
        info.size, info.mtime = len(journal), 1_700_000_000 + node.index
        tar.addfile(info, io.BytesIO(journal))
    return base64.b64encode(gzip.compress(raw.getvalue(), mtime=0)).decode()
