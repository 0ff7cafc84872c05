"""Real Redfish servers on loopback, for the tests of the out-of-band collector and the demo.

* :class:`LocalRedfishEmulator` runs ``sushy-emulator`` with its fake driver: the systems,
  NICs, storage and drives of :class:`FakeSystem` values, HTTP basic authentication from a
  bcrypt htpasswd file. It serves a System and its EthernetInterfaces, Storage and Drives
  when configured, a Manager; no Processors, Memory, BIOS or PCIe devices.
* :class:`LocalRedfishMockup` runs ``sushy-static`` over a mockup tree :func:`write_mockup`
  generates: a service root, one system with every resource the collector reads (two CPUs,
  DIMMs and an empty slot, a storage controller with drives, NICs with addresses and link
  state, PCIe devices and functions, BIOS attributes, a manager). It has no authentication.

Both commands come from the ``sushy-tools`` package, found next to the running Python.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import bcrypt

from metalscope.testing.certificates import CertificateFiles
from metalscope.testing.service import free_port, stop_process_group, wait_until_answers

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
#: The system of the generated mockup, its id in the tree and its serial.
MOCKUP_SYSTEM = "/redfish/v1/Systems/1"
MOCKUP_UUID = "8d4a6b12-5c3e-4f0a-9b7d-2e1f3c4d5a61"


@dataclass(frozen=True)
class FakeDrive:
    id: str
    capacity_bytes: int
    protocol: str = "SAS"
    name: str = "Drive"


@dataclass(frozen=True)
class FakeSystem:
    """One system of the emulator's fake driver (``nics``: MAC → IPv4 address)."""

    uuid: str
    name: str
    nics: Mapping[str, str] = field(default_factory=dict)
    drives: tuple[FakeDrive, ...] = ()

    def fake_entry(self) -> dict[str, Any]:
        return {"uuid": self.uuid, "name": self.name, "power_state": "Off",
                "external_notifier": False,
                "nics": [{"mac": mac, "ip": ip} for mac, ip in self.nics.items()]}


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


class _Process:
    """A server child process with its output in a log file."""

    def __init__(self, command: list[str], log: Path, url: str, verify: Any = True) -> None:
        self.command, self.log, self.url, self.verify = command, log, url, verify
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        problem = wait_until_answers(self.url + "/redfish/v1", self.process, START_TIMEOUT,
                                     verify=self.verify)
        if problem is not None:
            self.stop()
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{Path(self.command[0]).name} {problem}:\n{tail}")

    def stop(self) -> None:
        process, self.process = self.process, None
        stop_process_group(process, STOP_TIMEOUT)


class LocalRedfishEmulator:
    """``sushy-emulator`` (fake driver) on a free loopback port, with basic authentication;
    over HTTPS with ``certificate`` (``ca_file``: the CA that issued it, for the probe)."""

    def __init__(self, workdir: Path, systems: list[FakeSystem], *, username: str = "admin",
                 password: str = "redfish-secret", certificate: CertificateFiles | None = None,
                 ca_file: Path | None = None) -> None:
        self.workdir = Path(workdir).absolute()
        self.systems = systems
        self.username, self.password = username, password
        self.certificate = certificate
        self.port = free_port()
        scheme = "https" if certificate else "http"
        self.address = f"{scheme}://127.0.0.1:{self.port}"
        self.config_file = self.workdir / "emulator.conf"
        self.log_file = self.workdir / "emulator.log"
        self._server = _Process([_bin("sushy-emulator"), "--config", str(self.config_file)],
                                self.log_file, self.address,
                                verify=str(ca_file) if ca_file else True)

    def driver_info(self, system: FakeSystem, **overrides: Any) -> dict[str, Any]:
        """The ``redfish`` hardware type's driver_info reaching ``system`` here."""
        info = {"redfish_address": self.address,
                "redfish_system_id": f"/redfish/v1/Systems/{system.uuid}",
                "redfish_username": self.username, "redfish_password": self.password,
                "redfish_verify_ca": False}
        return {**info, **overrides}

    def _config(self) -> str:
        htpasswd = self.workdir / "htpasswd"
        digest = bcrypt.hashpw(self.password.encode(), bcrypt.gensalt(rounds=4)).decode()
        htpasswd.write_text(f"{self.username}:{digest}\n")
        storage = {s.uuid: [{"Id": "1", "Name": "Local Storage Controller",
                             "StorageControllers": [{"MemberId": "0", "Name": "RAID 0",
                                                     "SpeedGbps": 12}],
                             "Drives": [d.id for d in s.drives]}]
                   for s in self.systems if s.drives}
        drives = {(s.uuid, "1"): [{"Id": d.id, "Name": d.name, "CapacityBytes": d.capacity_bytes,
                                   "Protocol": d.protocol} for d in s.drives]
                  for s in self.systems if s.drives}
        settings = {
            "SUSHY_EMULATOR_LISTEN_IP": "127.0.0.1",
            "SUSHY_EMULATOR_LISTEN_PORT": self.port,
            "SUSHY_EMULATOR_FAKE_DRIVER": True,
            "SUSHY_EMULATOR_FAKE_SYSTEMS": [s.fake_entry() for s in self.systems],
            "SUSHY_EMULATOR_STORAGE": storage,
            "SUSHY_EMULATOR_DRIVES": drives,
            "SUSHY_EMULATOR_AUTH_FILE": str(htpasswd),
            "SUSHY_EMULATOR_STATE_DIR": str(self.workdir / "state"),
        }
        if self.certificate:
            settings["SUSHY_EMULATOR_SSL_CERT"] = str(self.certificate.cert_file)
            settings["SUSHY_EMULATOR_SSL_KEY"] = str(self.certificate.key_file)
        return "".join(f"{key} = {value!r}\n" for key, value in settings.items())

    def start(self) -> LocalRedfishEmulator:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(self._config())
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> LocalRedfishEmulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class LocalRedfishMockup:
    """``sushy-static`` serving :func:`write_mockup`'s tree on a free loopback port."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir).absolute()
        self.port = free_port()
        self.address = f"http://127.0.0.1:{self.port}"
        self.tree = self.workdir / "mockup"
        self._server = _Process([_bin("sushy-static"), "-m", str(self.tree), "-i", "127.0.0.1",
                                 "-p", str(self.port)], self.workdir / "static.log",
                                self.address)

    def driver_info(self, **overrides: Any) -> dict[str, Any]:
        return {"redfish_address": self.address, "redfish_system_id": MOCKUP_SYSTEM,
                "redfish_verify_ca": False, **overrides}

    def start(self) -> LocalRedfishMockup:
        write_mockup(self.tree)
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> LocalRedfishMockup:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


# -- the mockup tree ------------------------------------------------------------------------

def _ref(path: str) -> dict[str, str]:
    return {"@odata.id": path}


def _collection(path: str, kind: str, members: list[str]) -> dict[str, Any]:
    return {"@odata.id": path, "@odata.type": f"#{kind}Collection.{kind}Collection",
            "Name": f"{kind} Collection", "Members@odata.count": len(members),
            "Members": [_ref(m) for m in members]}


def _ok(state: str = "Enabled") -> dict[str, str]:
    return {"State": state, "Health": "OK"} if state != "Absent" else {"State": "Absent"}


S = MOCKUP_SYSTEM


def _processors() -> dict[str, Any]:
    cpus = {f"{S}/Processors/CPU{i}": {
        "Id": f"CPU{i}", "Name": "Processor", "Socket": f"CPU {i}", "ProcessorType": "CPU",
        "ProcessorArchitecture": "x86", "InstructionSet": "x86-64",
        "Manufacturer": "Intel(R) Corporation",
        "Model": "Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz", "MaxSpeedMHz": 3200,
        "TotalCores": 12, "TotalThreads": 24, "Status": _ok()} for i in (1, 2)}
    return {f"{S}/Processors": _collection(f"{S}/Processors", "Processor", list(cpus)), **cpus}


#: (id, locator, MiB or None for an empty slot, serial).
MOCKUP_DIMMS = (("DIMM1", "A1", 32768, "3A1B2C01"), ("DIMM2", "A2", 32768, "3A1B2C02"),
                ("DIMM3", "B1", 32768, "3A1B2C03"), ("DIMM4", "B2", None, None))


def _memory() -> dict[str, Any]:
    modules: dict[str, Any] = {}
    for ident, locator, size, serial in MOCKUP_DIMMS:
        body: dict[str, Any] = {"Id": ident, "Name": f"DIMM {locator}", "DeviceLocator": locator,
                                "Status": _ok("Enabled" if size else "Absent")}
        if size:
            body.update({"CapacityMiB": size, "MemoryType": "DRAM", "MemoryDeviceType": "DDR4",
                         "OperatingSpeedMhz": 2933, "Manufacturer": "Samsung",
                         "SerialNumber": serial, "PartNumber": "M393A4K40DB3-CWE"})
        modules[f"{S}/Memory/{ident}"] = body
    return {f"{S}/Memory": _collection(f"{S}/Memory", "Memory", list(modules)), **modules}


#: (id, bytes, media, protocol, serial, model).
MOCKUP_DRIVES = (("Disk0", 480103981056, "SSD", "SATA", "S4EVNX0M123456", "SAMSUNG MZ7LH480"),
                 ("Disk1", 1920383410176, "HDD", "SAS", "ZAD1X2Y3", "ST2000NM0045"))


def _storage() -> dict[str, Any]:
    base = f"{S}/Storage/RAID1"
    drives = {f"{base}/Drives/{ident}": {
        "Id": ident, "Name": f"Physical Disk {ident[-1]}", "CapacityBytes": size,
        "MediaType": media, "Protocol": protocol, "SerialNumber": serial, "Model": model,
        "Manufacturer": model.split()[0].title() if media == "SSD" else "Seagate",
        "BlockSizeBytes": 512, "Status": _ok(),
        "Identifiers": [{"DurableNameFormat": "NAA", "DurableName": f"5000C500A1B2C3D{n}"}],
    } for n, (ident, size, media, protocol, serial, model) in enumerate(MOCKUP_DRIVES)}
    storage = {"Id": "RAID1", "Name": "RAID Controller", "Status": _ok(),
               "StorageControllers": [{"MemberId": "0", "Name": "PERC H740P",
                                       "Manufacturer": "Broadcom", "Model": "PERC H740P Mini",
                                       "SerialNumber": "CN0XYZ123", "FirmwareVersion":
                                       "51.16.0-4076", "SpeedGbps": 12,
                                       "SupportedDeviceProtocols": ["SAS", "SATA"],
                                       "Status": _ok()}],
               "Drives": [_ref(p) for p in drives]}
    return {f"{S}/Storage": _collection(f"{S}/Storage", "Storage", [base]), base: storage,
            **drives}


#: (id, MAC, IPv4 or None, link status, Mbit/s).
MOCKUP_NICS = (("NIC1", "3C:FD:FE:AA:00:01", "192.0.2.41", "LinkUp", 10000),
               ("NIC2", "3C:FD:FE:AA:00:02", None, "LinkDown", None))


def _ethernet() -> dict[str, Any]:
    nics = {}
    for ident, mac, ip, link, speed in MOCKUP_NICS:
        body: dict[str, Any] = {"Id": ident, "Name": f"Ethernet {ident}", "MACAddress": mac,
                                "PermanentMACAddress": mac, "LinkStatus": link,
                                "Status": _ok()}
        if ip:
            body["IPv4Addresses"] = [{"Address": ip, "SubnetMask": "255.255.255.0",
                                      "AddressOrigin": "DHCP"}]
        if speed:
            body["SpeedMbps"] = speed
        nics[f"{S}/EthernetInterfaces/{ident}"] = body
    return {f"{S}/EthernetInterfaces": _collection(f"{S}/EthernetInterfaces",
                                                   "EthernetInterface", list(nics)), **nics}


#: (device id, name, type, vendor id, device id, class code, bus).
MOCKUP_PCIE = (("NIC.Slot.1", "Ethernet Controller X710", "MultiFunction", "0x8086", "0x1572",
                "0x020000", "0x18"),
               ("GPU.Slot.2", "NVIDIA T4", "SingleFunction", "0x10de", "0x1eb8", "0x030200",
                "0x3b"))


def _pcie() -> dict[str, Any]:
    tree: dict[str, Any] = {}
    devices = []
    for ident, name, kind, vendor, device, klass, bus in MOCKUP_PCIE:
        path = f"{S}/PCIeDevices/{ident}"
        devices.append(path)
        function = f"{path}/PCIeFunctions/0"
        tree[path] = {"Id": ident, "Name": name, "DeviceType": kind,
                      "Manufacturer": "Intel" if vendor == "0x8086" else "NVIDIA",
                      "Model": name, "FirmwareVersion": "9.20", "Status": _ok(),
                      "PCIeFunctions": _ref(f"{path}/PCIeFunctions")}
        tree[f"{path}/PCIeFunctions"] = _collection(f"{path}/PCIeFunctions", "PCIeFunction",
                                                    [function])
        tree[function] = {"Id": "0", "Name": f"{name} function 0", "FunctionId": 0,
                          "VendorId": vendor, "DeviceId": device, "ClassCode": klass,
                          "RevisionId": "0x01", "SegmentNumber": "0x0000",
                          "BusNumber": bus, "DeviceNumber": "0x00", "FunctionNumber": "0x0",
                          "Status": _ok()}
    tree[f"{S}/PCIeDevices"] = _collection(f"{S}/PCIeDevices", "PCIeDevice", devices)
    return tree


def _system() -> dict[str, Any]:
    return {
        "@odata.id": S, "@odata.type": "#ComputerSystem.v1_13_0.ComputerSystem", "Id": "1",
        "Name": "rack12-u07", "Manufacturer": "Dell Inc.", "Model": "PowerEdge R640",
        "SerialNumber": "7QX9K42", "SKU": "7QX9K42", "UUID": MOCKUP_UUID.upper(),
        "BiosVersion": "2.19.1", "HostName": "rack12-u07.example.org", "PowerState": "Off",
        "Status": _ok(), "Boot": {"BootSourceOverrideMode": "UEFI",
                                  "BootSourceOverrideEnabled": "Disabled",
                                  "BootSourceOverrideTarget": "None"},
        "ProcessorSummary": {"Count": 2, "LogicalProcessorCount": 48,
                             "Model": "Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz"},
        "MemorySummary": {"TotalSystemMemoryGiB": 96},
        **{key: _ref(f"{S}/{key}") for key in ("Processors", "Memory", "Storage",
                                               "EthernetInterfaces", "PCIeDevices", "Bios")},
        "Links": {"ManagedBy": [_ref("/redfish/v1/Managers/iDRAC")]},
    }


def mockup_documents() -> dict[str, Any]:
    """Every document of the mockup, by its path."""
    return {
        "/redfish/v1": {"@odata.id": "/redfish/v1", "@odata.type": "#ServiceRoot.v1_5_0",
                        "Id": "RootService", "Name": "Root Service", "RedfishVersion": "1.6.0",
                        "UUID": "a1b2c3d4-0000-4000-8000-000000000001",
                        "Systems": _ref("/redfish/v1/Systems"),
                        "Managers": _ref("/redfish/v1/Managers")},
        "/redfish/v1/Systems": _collection("/redfish/v1/Systems", "ComputerSystem", [S]),
        S: _system(),
        f"{S}/Bios": {"Id": "Bios", "Name": "BIOS Configuration",
                      "Attributes": {"BootMode": "Uefi", "ProcAdjCacheLine": "Enabled"}},
        "/redfish/v1/Managers": _collection("/redfish/v1/Managers", "Manager",
                                            ["/redfish/v1/Managers/iDRAC"]),
        "/redfish/v1/Managers/iDRAC": {"Id": "iDRAC", "Name": "Manager", "ManagerType": "BMC",
                                       "Model": "14G Monolithic",
                                       "FirmwareVersion": "7.00.00.171"},
        **_processors(), **_memory(), **_storage(), **_ethernet(), **_pcie(),
    }


def write_mockup(folder: Path) -> None:
    """Write the mockup as ``sushy-static`` reads it: ``<path>/index.json`` per document."""
    for path, document in mockup_documents().items():
        target = Path(folder) / path.removeprefix("/redfish/v1").strip("/") / "index.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"@odata.id": path, **document}, indent=1))

