"""The host source through psutil: a fake psutil for exact values, the real one for shape."""

from __future__ import annotations

from collections import namedtuple
from types import SimpleNamespace

import psutil

from webadmin.sources.host import MIN_CPU_WINDOW_S, HostSource

Freq = namedtuple("Freq", "current min max")
Temp = namedtuple("Temp", "label current high critical")
Usage = namedtuple("Usage", "total used free percent")

MB = 1024 * 1024


def fake_psutil(**overrides: object) -> SimpleNamespace:
    values = {
        "cpu_percent": lambda percpu: [10.0, 30.0],
        "cpu_freq": lambda percpu: [Freq(1500.0, 0, 0), Freq(2200.4, 0, 0)],
        "virtual_memory": lambda: SimpleNamespace(total=8000 * MB, available=6000 * MB),
        "swap_memory": lambda: SimpleNamespace(total=0, used=0),
        "sensors_temperatures": lambda: {
            "coretemp": [Temp("Package id 0", 48.0, 80, 100), Temp("Core 0", 45.0, 80, 100)],
            "acpitz": [Temp("", 27.8, None, None)],
            "nvme": [Temp("Composite", -256.0, None, None)],
        },
        "disk_usage": lambda path: Usage(100 * 1024**3, 25 * 1024**3, 75 * 1024**3, 25.0),
        "boot_time": lambda: 0.0,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def opened(source: HostSource) -> HostSource:
    """Open the source as if its first CPU window had already passed."""
    source.open()
    source._cpu_window_started -= MIN_CPU_WINDOW_S
    return source


def test_reads_fake_psutil() -> None:
    source = opened(HostSource(fake_psutil()))

    reading = source.read().reading

    assert reading.cpu is not None
    assert [c.percent for c in reading.cpu.cores] == [10.0, 30.0]
    assert [c.freq_mhz for c in reading.cpu.cores] == [1500, 2200]
    assert reading.cpu.percent == 20.0
    assert reading.memory is not None
    assert reading.memory.used_mb == 2000.0
    assert reading.swap is None
    assert reading.temperatures_c == {"package id 0": 48.0, "core 0": 45.0, "acpitz": 27.8}
    assert reading.disk is not None
    assert reading.disk.used_gb == 25.0
    assert reading.gpu is None
    assert reading.power_mw == {}


def test_first_read_has_no_load() -> None:
    source = HostSource(fake_psutil())
    source.open()

    reading = source.read().reading

    assert reading.cpu is not None
    assert [c.percent for c in reading.cpu.cores] == [None, None]
    assert reading.cpu.percent is None


def test_no_cpufreq_means_no_clock() -> None:
    source = opened(HostSource(fake_psutil(cpu_freq=lambda percpu: [])))

    reading = source.read().reading

    assert reading.cpu is not None
    assert [c.freq_mhz for c in reading.cpu.cores] == [None, None]


def test_sensor_error_means_no_temperatures() -> None:
    def broken() -> dict[str, list[Temp]]:
        raise OSError("no hwmon")

    reading = opened(HostSource(fake_psutil(sensors_temperatures=broken))).read().reading

    assert reading.temperatures_c == {}


def test_real_psutil_shape() -> None:
    source = HostSource()
    source.open()

    reading = source.read().reading

    assert reading.cpu is not None
    assert len(reading.cpu.cores) == psutil.cpu_count()
    assert reading.memory is not None
    assert 0 < reading.memory.used_mb <= reading.memory.total_mb
    assert reading.uptime_s is not None
    assert reading.uptime_s > 0
