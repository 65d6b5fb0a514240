"""The jtop source, fed with the recorded shapes of a real jtop client.

jtop needs its service on a Jetson, so these tests replace the client with a
fake whose properties hold what jetson-stats 4.x printed on an Orin Nano
developer kit (L4T 36.4.3, JetPack 6.2). The conversion code is the one used
in production.
"""

from __future__ import annotations

import datetime
import subprocess
import sys
from typing import Any

import pytest

from webadmin.sources import SourceUnavailable
from webadmin.sources.jtop import JtopSource, reading_from_client


class FakeJtopError(Exception):
    """Stands in for jtop's JtopException."""


class FakeNvpModel:
    name = "25W"
    id = 1


class FakeJetsonClocks:
    def __bool__(self) -> bool:
        return False


def _cpu_core(user: float, idle: float, cur: int) -> dict[str, Any]:
    return {
        "online": True,
        "governor": "schedutil",
        "freq": {"min": 729600, "max": 1728000, "cur": cur},
        "info_freq": {"min": 115200, "max": 1728000, "cur": cur},
        "idle_state": {"WFI": 0, "c7": 0},
        "model": "ARMv8 Processor rev 1 (v8l)",
        "user": user,
        "nice": 0.0,
        "system": 6.185567010309279,
        "idle": idle,
    }


class FakeJtopClient:
    """Properties as recorded from jetson-stats 4.x on an Orin Nano (serials removed)."""

    def __init__(self, start_error: str | None = None) -> None:
        self.start_error = start_error
        self.ok_error: str | None = None
        self.closed = False

        self.cpu = {
            "total": {"user": 3.3, "nice": 0.0, "system": 2.1, "idle": 93.6},
            "cpu": [
                _cpu_core(8.24742268041237, 82.4742268041237, 1344000),
                _cpu_core(30.0, 61.0, 1344000),
                {"online": False, "model": "ARMv8 Processor rev 1 (v8l)"},
            ],
        }

        self.memory = {
            "RAM": {
                "tot": 3688892,
                "used": 1687344,
                "free": 737636,
                "buffers": 99660,
                "cached": 1258132,
                "shared": 36904,
                "lfb": 28,
            },
            "SWAP": {"tot": 1844424, "used": 0, "cached": 0, "table": {}},
            "EMC": {"cur": 2133000, "max": 3199000, "min": 204000, "override": 0, "val": 0, "online": True},
        }

        self.gpu = {
            "gpu": {
                "type": "integrated",
                "status": {"railgate": False, "tpc_pg_mask": False, "3d_scaling": True, "load": 4.8},
                "freq": {"governor": "nvhost_podgov", "cur": 306000, "max": 1020000, "min": 306000, "GPC": [305981]},
                "power_control": "auto",
            }
        }

        self.temperature = {
            "cpu": {"temp": 46.062, "online": True},
            "cv0": {"temp": -256, "online": False},
            "gpu": {"temp": 46.406, "online": True},
            "tj": {"temp": 47.906, "online": True},
        }

        self.power = {
            "rail": {
                "VDD_CPU_GPU_CV": {
                    "volt": 4928,
                    "curr": 216,
                    "warn": 32760,
                    "crit": 32760,
                    "power": 1064,
                    "online": True,
                    "avg": 806,
                },
                "VDD_SOC": {
                    "volt": 4936,
                    "curr": 312,
                    "warn": 32760,
                    "crit": 32760,
                    "power": 1540,
                    "online": True,
                    "avg": 1524,
                },
            },
            "tot": {
                "volt": 4936,
                "curr": 1040,
                "warn": 5232,
                "crit": 5232,
                "power": 5133,
                "online": True,
                "avg": 4800,
                "name": "VDD_IN",
            },
        }

        self.engine = {
            "APE": {"APE": {"online": False, "cur": 200000}},
            "NVDEC": {"NVDEC": {"online": True, "cur": 524800}},
        }
        self.fan = {
            "pwmfan": {
                "speed": [26.274509803921568],
                "rpm": [1145],
                "profile": "quiet",
                "governor": "cont",
                "control": "close_loop",
            }
        }

        self.nvpmodel: Any = FakeNvpModel()
        self.jetson_clocks: Any = FakeJetsonClocks()
        self.disk = {
            "total": 232.2406234741211,
            "used": 25.741069793701172,
            "available": 206.49955368041992,
            "available_no_root": 194.63290405273438,
            "unit": "G",
        }
        self.uptime = datetime.timedelta(seconds=931, microseconds=410000)

    def start(self) -> None:
        if self.start_error:
            raise FakeJtopError(self.start_error)

    def ok(self, spin: bool = False) -> bool:
        if self.ok_error:
            raise FakeJtopError(self.ok_error)
        return True

    def close(self) -> None:
        self.closed = True


def make_source(client: FakeJtopClient) -> JtopSource:
    return JtopSource(client_factory=lambda interval: client, errors=(FakeJtopError,))


def test_reading_from_orin_nano() -> None:
    reading = reading_from_client(FakeJtopClient())

    assert reading.cpu is not None
    assert reading.cpu.cores[0].percent == 17.5
    assert reading.cpu.cores[0].freq_mhz == 1344
    assert reading.cpu.cores[2].online is False
    assert reading.cpu.percent == 28.2
    assert reading.memory is not None
    assert reading.memory.used_mb == 1647.8
    assert reading.memory.total_mb == 3602.4
    assert reading.swap is not None
    assert reading.swap.total_mb == 1801.2
    assert reading.gpu is not None
    assert reading.gpu.percent == 4.8
    assert reading.gpu.freq_mhz == 306
    assert reading.emc is not None
    assert reading.emc.percent == 0
    assert reading.emc.freq_mhz == 2133


def test_temperatures_skip_offline() -> None:
    reading = reading_from_client(FakeJtopClient())

    assert reading.temperatures_c == {"cpu": 46.1, "gpu": 46.4, "tj": 47.9}


def test_power_total_rail_named() -> None:
    reading = reading_from_client(FakeJtopClient())

    assert reading.power_total_rail == "VDD_IN"
    assert reading.power_mw["VDD_IN"].current == 5133
    assert reading.power_mw["VDD_SOC"].average == 1524
    assert reading.power_total is not None
    assert reading.power_total.current == 5133


def test_power_total_summed_without_vdd_in() -> None:
    # AGX Xavier and AGX Orin have no VDD_IN rail; jtop then reports an unnamed sum.
    client = FakeJtopClient()
    client.power["tot"] = {"power": 2604, "avg": 2330}

    reading = reading_from_client(client)

    assert reading.power_total_rail is None
    assert reading.power_total is not None
    assert reading.power_total.current == 2604


def test_board_state() -> None:
    reading = reading_from_client(FakeJtopClient())

    assert reading.board is not None
    assert reading.board.power_mode == "25W"
    assert reading.board.jetson_clocks is False
    assert reading.board.fan_percent == 26.3
    assert reading.uptime_s == 931
    assert reading.disk is not None
    assert reading.disk.total_gb == 232.2


def test_board_without_nvpmodel() -> None:
    client = FakeJtopClient()
    client.nvpmodel = None
    client.jetson_clocks = None
    client.fan = {}

    board = reading_from_client(client).board

    assert board is not None
    assert board.power_mode is None
    assert board.jetson_clocks is None
    assert board.fan_percent is None


def test_thor_without_gpu() -> None:
    # jetson-stats 4.3.2 on AGX Thor reports no iGPU at all.
    client = FakeJtopClient()
    client.gpu = {}

    assert reading_from_client(client).gpu is None


def test_engines_clock_only_when_online() -> None:
    engines = reading_from_client(FakeJtopClient()).engines

    assert engines["NVDEC"].freq_mhz == 525
    assert engines["APE"].freq_mhz is None


def test_service_missing_message_passed_on() -> None:
    message = "The jtop.service is not active. Please run:\nsudo systemctl restart jtop.service"
    source = make_source(FakeJtopClient(start_error=message))

    with pytest.raises(SourceUnavailable) as caught:
        source.open()

    assert str(caught.value) == "jtop: The jtop.service is not active. Please run: sudo systemctl restart jtop.service"


def test_version_mismatch_message_passed_on() -> None:
    message = (
        "Mismatch version jtop service: [4.2.0] and client: [4.3.1]. Please run:\n\nsudo systemctl restart jtop.service"
    )
    source = make_source(FakeJtopClient(start_error=message))

    with pytest.raises(SourceUnavailable, match=r"Mismatch version jtop service: \[4.2.0\] and client: \[4.3.1\]"):
        source.open()


def test_lost_connection_while_reading() -> None:
    client = FakeJtopClient()
    source = make_source(client)
    source.open()
    client.ok_error = "Lost connection with jtop server"

    with pytest.raises(SourceUnavailable, match="Lost connection with jtop server"):
        source.read()


def test_close_closes_client() -> None:
    client = FakeJtopClient()
    source = make_source(client)
    source.open()

    source.close()

    assert client.closed is True


def test_real_client_without_service() -> None:
    # jetson-stats is installed here but no jtop service runs, as on a laptop.
    # A child process keeps the files its library thread leaves open out of this run.
    script = (
        "from webadmin.sources import SourceUnavailable\n"
        "from webadmin.sources.jtop import JtopSource\n"
        "try:\n"
        "    JtopSource().open()\n"
        "except SourceUnavailable as error:\n"
        "    print(error)\n"
    )

    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("jtop: The jtop.service is not active.")
