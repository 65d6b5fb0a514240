"""Tests for the tegrastats line parser on captured real lines and on malformed input."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

from webadmin.sources.tegrastats_parser import (
    TOTAL_RAILS,
    TegrastatsLineError,
    parse_line,
)
from webadmin.telemetry import CoreReading, EngineReading, PowerReading, Reading

DATA_DIR = Path(__file__).parent / "data" / "tegrastats"

OFF = EngineReading(percent=None, freq_mhz=None)


@dataclass(frozen=True)
class Expected:
    """Values read by hand from one captured line."""

    ram_mb: tuple[float, float]
    swap_mb: tuple[float, float] | None
    core_count: int
    offline_cores: tuple[int, ...]
    cpu_percent: float | None
    core_samples: tuple[CoreReading, ...]
    gpu: EngineReading | None
    emc: EngineReading | None
    temperatures_c: dict[str, float]
    rails: set[str]
    rail_sample: tuple[str, PowerReading] | None
    total_rail: str | None
    total: PowerReading | None
    engines: dict[str, EngineReading] = field(default_factory=dict)


EXPECTED: dict[str, Expected] = {
    "ABR-01.txt": Expected(
        ram_mb=(4300.0, 30698.0),
        swap_mb=None,
        core_count=0,
        offline_cores=(),
        cpu_percent=None,
        core_samples=(),
        gpu=EngineReading(45.0, None),
        emc=None,
        temperatures_c={"tj": 52.468},
        rails={"VDD_GPU_SOC"},
        rail_sample=("VDD_GPU_SOC", PowerReading(2171, None)),
        total_rail=None,
        total=PowerReading(2171, None),
    ),
    "AGXO-01.txt": Expected(
        ram_mb=(4321.0, 62801.0),
        swap_mb=(19.0, 31400.0),
        core_count=12,
        offline_cores=(),
        cpu_percent=0.0,
        core_samples=(CoreReading(0, True, 0.0, 729), CoreReading(11, True, 0.0, 729)),
        gpu=EngineReading(0.0, 0),
        emc=EngineReading(0.0, 2133),
        temperatures_c={
            "cpu": 44.562,
            "tboard": 32.0,
            "soc2": 40.093,
            "tdiode": 33.0,
            "soc0": 41.093,
            "tj": 44.343,
            "soc1": 41.25,
        },
        rails={
            "VDD_GPU_SOC",
            "VDD_CPU_CV",
            "VIN_SYS_5V0",
            "NC",
            "VDDQ_VDD2_1V8AO",
            "NC#2",
        },
        rail_sample=("VIN_SYS_5V0", PowerReading(4025, 4025)),
        total_rail=None,
        total=PowerReading(7056, 7056),
        engines={"VIC_FREQ": EngineReading(None, 729), "APE": EngineReading(None, 174)},
    ),
    "AGXO-03.txt": Expected(
        ram_mb=(2448.0, 62840.0),
        swap_mb=(0.0, 31420.0),
        core_count=12,
        offline_cores=(),
        cpu_percent=0.0,
        core_samples=(CoreReading(0, True, 0.0, 2201), CoreReading(7, True, 0.0, 2201)),
        gpu=EngineReading(0.0, None),
        emc=None,
        temperatures_c={
            "cpu": 42.0,
            "soc2": 37.843,
            "soc0": 39.187,
            "gpu": 37.75,
            "tj": 42.0,
            "soc1": 37.937,
        },
        rails={"VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"},
        rail_sample=("VDD_GPU_SOC", PowerReading(4940, 4940)),
        total_rail=None,
        total=PowerReading(10370, 10370),
    ),
    "AGXO-04.txt": Expected(
        ram_mb=(6879.0, 62841.0),
        swap_mb=(0.0, 31421.0),
        core_count=12,
        offline_cores=(),
        cpu_percent=3.0,
        core_samples=(CoreReading(3, True, 9.0, 729), CoreReading(11, True, 7.0, 729)),
        gpu=EngineReading(0.0, 305),
        emc=EngineReading(0.0, 2133),
        temperatures_c={
            "cpu": 47.687,
            "tboard": 36.75,
            "soc2": 44.312,
            "tdiode": 37.5,
            "soc0": 45.718,
            "gpu": 43.218,
            "tj": 47.687,
            "soc1": 45.125,
        },
        rails={"VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0", "VDDQ_VDD2_1V8AO"},
        rail_sample=("VDDQ_VDD2_1V8AO", PowerReading(604, 604)),
        total_rail=None,
        total=PowerReading(8341, 8341),
        engines={
            "NVENC": OFF,
            "NVDEC": OFF,
            "NVJPG": OFF,
            "NVJPG1": OFF,
            "VIC": OFF,
            "OFA": OFF,
            "NVDLA0": OFF,
            "NVDLA1": OFF,
            "PVA0_FREQ": OFF,
            "APE": EngineReading(None, 174),
        },
    ),
    "AGXX-01.txt": Expected(
        ram_mb=(1733.0, 15827.0),
        swap_mb=None,
        core_count=8,
        offline_cores=(4, 5, 6, 7),
        cpu_percent=0.2,
        core_samples=(
            CoreReading(0, True, 1.0, 1190),
            CoreReading(4, False, None, None),
        ),
        gpu=EngineReading(4.0, None),
        emc=EngineReading(0.0, None),
        temperatures_c={
            "ao": 25.5,
            "gpu": 26.5,
            "iwlwifi": 32.0,
            "tboard": 27.0,
            "tdiode": 29.75,
            "aux": 25.5,
            "cpu": 26.5,
            "thermal": 26.1,
        },
        rails={"GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"},
        rail_sample=("CPU", PowerReading(465, 465)),
        total_rail=None,
        total=PowerReading(4536, 4536),
    ),
    "AGXX-02.txt": Expected(
        ram_mb=(1736.0, 15827.0),
        swap_mb=None,
        core_count=8,
        offline_cores=(4, 5, 6, 7),
        cpu_percent=0.8,
        core_samples=(
            CoreReading(1, True, 2.0, 1161),
            CoreReading(7, False, None, None),
        ),
        gpu=EngineReading(0.0, 114),
        emc=EngineReading(0.0, 665),
        temperatures_c={
            "ao": 29.0,
            "gpu": 30.0,
            "iwlwifi": 34.0,
            "tboard": 30.0,
            "tdiode": 33.0,
            "aux": 29.0,
            "cpu": 30.0,
            "thermal": 29.45,
        },
        rails={"GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"},
        rail_sample=("SYS5V", PowerReading(1854, 1854)),
        total_rail=None,
        total=PowerReading(3718, 3718),
        engines={"APE": EngineReading(None, 150)},
    ),
    "AGXX-04.txt": Expected(
        ram_mb=(721.0, 31927.0),
        swap_mb=(0.0, 15963.0),
        core_count=8,
        offline_cores=(4, 5, 6, 7),
        cpu_percent=0.5,
        core_samples=(
            CoreReading(0, True, 2.0, 1190),
            CoreReading(5, False, None, None),
        ),
        gpu=EngineReading(0.0, 318),
        emc=EngineReading(0.0, 665),
        temperatures_c={
            "ao": 37.5,
            "gpu": 37.5,
            "tdiode": 40.0,
            "aux": 36.0,
            "cpu": 37.5,
            "thermal": 36.9,
            "tboard": 37.0,
        },
        rails={"GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"},
        rail_sample=("VDDRQ", PowerReading(621, 621)),
        total_rail=None,
        total=PowerReading(3346, 3346),
        engines={"APE": EngineReading(None, 150)},
    ),
    "NANO-01.txt": Expected(
        ram_mb=(534.0, 3964.0),
        swap_mb=(5.0, 1982.0),
        core_count=4,
        offline_cores=(),
        cpu_percent=6.2,
        core_samples=(CoreReading(0, True, 16.0, 204), CoreReading(1, True, 9.0, 204)),
        gpu=EngineReading(0.0, 76),
        emc=EngineReading(0.0, 204),
        temperatures_c={
            "pll": 34.0,
            "cpu": 36.5,
            "gpu": 36.0,
            "ao": 39.5,
            "thermal": 36.25,
        },
        rails={"POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"},
        rail_sample=("POM_5V_CPU", PowerReading(204, 204)),
        total_rail="POM_5V_IN",
        total=PowerReading(1022, 1022),
        engines={"APE": EngineReading(None, 25)},
    ),
    "NANO-03.txt": Expected(
        ram_mb=(1923.0, 3964.0),
        swap_mb=(191.0, 1982.0),
        core_count=4,
        offline_cores=(),
        cpu_percent=4.5,
        core_samples=(CoreReading(0, True, 5.0, 1224), CoreReading(3, True, 6.0, 1224)),
        gpu=EngineReading(0.0, 76),
        emc=EngineReading(0.0, 1600),
        temperatures_c={
            "pll": 37.0,
            "cpu": 40.0,
            "gpu": 40.0,
            "ao": 45.0,
            "thermal": 40.0,
        },
        rails={"POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"},
        rail_sample=("POM_5V_CPU", PowerReading(366, 406)),
        total_rail="POM_5V_IN",
        total=PowerReading(1750, 1628),
        engines={"APE": EngineReading(None, 25)},
    ),
    "NANO-04.txt": Expected(
        ram_mb=(1180.0, 3965.0),
        swap_mb=(149.0, 1024.0),
        core_count=4,
        offline_cores=(),
        cpu_percent=29.2,
        core_samples=(
            CoreReading(1, True, 33.0, 1036),
            CoreReading(3, True, 26.0, 1036),
        ),
        gpu=EngineReading(0.0, 76),
        emc=EngineReading(10.0, 1600),
        temperatures_c={
            "pll": 57.0,
            "cpu": 60.5,
            "gpu": 59.0,
            "ao": 65.0,
            "thermal": 59.75,
        },
        rails={"POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"},
        rail_sample=("POM_5V_CPU", PowerReading(1078, 1205)),
        total_rail="POM_5V_IN",
        total=PowerReading(4520, 4680),
        engines={
            "NVENC": EngineReading(None, 716),
            "NVDEC": EngineReading(None, 716),
            "APE": EngineReading(None, 25),
        },
    ),
    "ONANO-01.txt": Expected(
        ram_mb=(6185.0, 7620.0),
        swap_mb=(851.0, 3810.0),
        core_count=6,
        offline_cores=(),
        cpu_percent=12.0,
        core_samples=(CoreReading(0, True, 15.0, 729), CoreReading(5, True, 8.0, 729)),
        gpu=EngineReading(63.0, 621),
        emc=EngineReading(43.0, 2133),
        temperatures_c={
            "cpu": 53.968,
            "soc2": 52.437,
            "soc0": 50.75,
            "gpu": 53.343,
            "tj": 53.968,
            "soc1": 51.656,
        },
        rails={"VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"},
        rail_sample=("VDD_SOC", PowerReading(2817, 2817)),
        total_rail="VDD_IN",
        total=PowerReading(12479, 12479),
        engines={
            "NVDEC": OFF,
            "NVJPG": OFF,
            "NVJPG1": OFF,
            "VIC": OFF,
            "OFA": OFF,
            "APE": EngineReading(None, 200),
        },
    ),
    "ONANO-03.txt": Expected(
        ram_mb=(3162.0, 7620.0),
        swap_mb=(0.0, 3810.0),
        core_count=6,
        offline_cores=(4, 5),
        cpu_percent=0.2,
        core_samples=(
            CoreReading(0, True, 1.0, 729),
            CoreReading(5, False, None, None),
        ),
        gpu=EngineReading(1.0, None),
        emc=None,
        temperatures_c={
            "cpu": 62.843,
            "soc2": 61.968,
            "soc0": 60.625,
            "gpu": 61.687,
            "tj": 62.843,
            "soc1": 61.687,
        },
        rails={"VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"},
        rail_sample=("VDD_CPU_GPU_CV", PowerReading(598, 598)),
        total_rail="VDD_IN",
        total=PowerReading(3913, 3922),
    ),
    "ONX8-01.txt": Expected(
        ram_mb=(6982.0, 7620.0),
        swap_mb=(2640.0, 16384.0),
        core_count=6,
        offline_cores=(),
        cpu_percent=93.2,
        core_samples=(
            CoreReading(0, True, 97.0, 1984),
            CoreReading(5, True, 93.0, 247),
        ),
        gpu=EngineReading(84.0, 713),
        emc=EngineReading(18.0, 3199),
        temperatures_c={
            "cv0": 63.031,
            "cpu": 65.562,
            "soc2": 64.156,
            "soc0": 63.031,
            "cv1": 62.937,
            "gpu": 63.5,
            "tj": 65.562,
            "soc1": 64.718,
            "cv2": 60.875,
        },
        rails={"VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"},
        rail_sample=("VDD_CPU_GPU_CV", PowerReading(8896, 7585)),
        total_rail="VDD_IN",
        total=PowerReading(17946, 15710),
        engines={
            "NVENC": EngineReading(1.0, 115),
            "NVDEC": EngineReading(40.0, 115),
            "NVJPG": OFF,
            "NVJPG1": OFF,
            "VIC": EngineReading(31.0, 115),
            "OFA": OFF,
            "NVDLA0": OFF,
            "PVA0_FREQ": OFF,
            "APE": EngineReading(None, 174),
        },
    ),
    "ORIN-06.txt": Expected(
        ram_mb=(18220.0, 24402.0),
        swap_mb=None,
        core_count=12,
        offline_cores=(),
        cpu_percent=36.4,
        core_samples=(
            CoreReading(3, True, 28.0, 2008),
            CoreReading(11, True, 37.0, 2021),
        ),
        gpu=EngineReading(99.0, 1274),
        emc=EngineReading(None, 3199),
        temperatures_c={
            "cv0": 73.218,
            "cpu": 74.343,
            "soc2": 73.906,
            "soc0": 72.5,
            "cv1": 72.031,
            "gpu": 78.937,
            "tj": 78.937,
            "soc1": 74.187,
            "cv2": 70.968,
        },
        rails=set(),
        rail_sample=None,
        total_rail=None,
        total=None,
        engines={
            "GR3D2_FREQ": EngineReading(99.0, 1274),
            "NVENC_LOAD": EngineReading(7.0, None),
            "NVDEC_LOAD": EngineReading(0.0, None),
            "VIC_LOAD": EngineReading(0.0, None),
            "NVDLA0_LOAD": EngineReading(0.0, None),
            "NVDLA1_LOAD": EngineReading(0.0, None),
            "APE": EngineReading(None, 81),
        },
    ),
    "THOR-01.txt": Expected(
        ram_mb=(4722.0, 7844.0),
        swap_mb=None,
        core_count=0,
        offline_cores=(),
        cpu_percent=None,
        core_samples=(),
        gpu=EngineReading(None, 1000),
        emc=EngineReading(2.0, 1866),
        temperatures_c={},
        rails=set(),
        rail_sample=None,
        total_rail=None,
        total=None,
        engines={"APE": EngineReading(None, 150)},
    ),
    "THOR-02.txt": Expected(
        ram_mb=(8353.0, 125749.0),
        swap_mb=None,
        core_count=4,
        offline_cores=(2,),
        cpu_percent=57.3,
        core_samples=(
            CoreReading(2, False, None, None),
            CoreReading(3, True, 7.0, 2601),
        ),
        gpu=EngineReading(87.0, 1574),
        emc=EngineReading(34.0, 4266),
        temperatures_c={
            "cpu": 58.25,
            "tj": 66.625,
            "gpu": 56.937,
            "soc012": 55.375,
            "soc345": 55.812,
        },
        rails={"VDD_GPU", "VDD_CPU_SOC_MSS", "VIN_SYS_5V0", "VIN"},
        rail_sample=("VDD_GPU", PowerReading(37939, 8660)),
        total_rail="VIN",
        total=PowerReading(124486, 36487),
        engines={"NVENC0_FREQ": EngineReading(None, 1691), "VIC": OFF},
    ),
    "TX1-01.txt": Expected(
        ram_mb=(1179.0, 3983.0),
        swap_mb=None,
        core_count=4,
        offline_cores=(),
        cpu_percent=1.2,
        core_samples=(CoreReading(0, True, 1.0, 102), CoreReading(1, True, 4.0, 102)),
        gpu=EngineReading(0.0, 76),
        emc=EngineReading(7.0, 408),
        temperatures_c={
            "ao": 42.5,
            "cpu": 37.5,
            "gpu": 39.0,
            "pll": 37.0,
            "tdiode": 42.75,
            "tboard": 42.0,
            "thermal": 38.5,
        },
        rails={"VDD_IN", "VDD_CPU", "VDD_GPU"},
        rail_sample=("VDD_CPU", PowerReading(76, 178)),
        total_rail="VDD_IN",
        total=PowerReading(2532, 2698),
        engines={"APE": EngineReading(None, 25)},
    ),
    "TX1-02.txt": Expected(
        ram_mb=(3468.0, 3983.0),
        swap_mb=(873.0, 8192.0),
        core_count=4,
        offline_cores=(),
        cpu_percent=16.0,
        core_samples=(CoreReading(0, True, 17.0, 408), CoreReading(2, True, 29.0, 408)),
        gpu=EngineReading(3.0, 76),
        emc=EngineReading(1.0, 408),
        temperatures_c={},
        rails=set(),
        rail_sample=None,
        total_rail=None,
        total=None,
        engines={"APE": EngineReading(None, 25)},
    ),
    "TX2-01.txt": Expected(
        ram_mb=(2344.0, 7852.0),
        swap_mb=(0.0, 3926.0),
        core_count=6,
        offline_cores=(1, 2),
        cpu_percent=1.0,
        core_samples=(
            CoreReading(1, False, None, None),
            CoreReading(5, True, 2.0, 345),
        ),
        gpu=EngineReading(0.0, 624),
        emc=EngineReading(4.0, 1600),
        temperatures_c={
            "pll": 37.5,
            "mcpu": 37.5,
            "tboard": 32.0,
            "gpu": 35.0,
            "bcpu": 37.5,
            "thermal": 36.5,
            "tdiode": 34.25,
        },
        rails={
            "VDD_SYS_GPU",
            "VDD_SYS_SOC",
            "VDD_4V0_WIFI",
            "VDD_IN",
            "VDD_SYS_CPU",
            "VDD_SYS_DDR",
        },
        rail_sample=("VDD_SYS_DDR", PowerReading(883, 883)),
        total_rail="VDD_IN",
        total=PowerReading(3056, 3056),
        engines={"APE": EngineReading(None, 150)},
    ),
    "TX2-03.txt": Expected(
        ram_mb=(2020.0, 7852.0),
        swap_mb=None,
        core_count=6,
        offline_cores=(),
        cpu_percent=10.0,
        core_samples=(CoreReading(1, True, 21.0, 345), CoreReading(2, True, 25.0, 345)),
        gpu=EngineReading(0.0, None),
        emc=EngineReading(0.0, None),
        temperatures_c={
            "pll": 42.5,
            "mcpu": 42.5,
            "tboard": 40.0,
            "gpu": 41.0,
            "bcpu": 42.5,
            "thermal": 41.9,
            "tdiode": 41.25,
        },
        rails={
            "VDD_SYS_GPU",
            "VDD_SYS_SOC",
            "VDD_4V0_WIFI",
            "VDD_IN",
            "VDD_SYS_CPU",
            "VDD_SYS_DDR",
        },
        rail_sample=("VDD_4V0_WIFI", PowerReading(633, 527)),
        total_rail="VDD_IN",
        total=PowerReading(3140, 3208),
    ),
    "TX2-04.txt": Expected(
        ram_mb=(1685.0, 7854.0),
        swap_mb=(278.0, 8192.0),
        core_count=6,
        offline_cores=(),
        cpu_percent=0.0,
        core_samples=(CoreReading(0, True, 0.0, 1303), CoreReading(5, True, 0.0, 1421)),
        gpu=EngineReading(0.0, 140),
        emc=EngineReading(0.0, 1866),
        temperatures_c={
            "bcpu": 41.0,
            "mcpu": 41.0,
            "gpu": 39.0,
            "pll": 41.0,
            "tboard": 37.0,
            "tdiode": 37.25,
            "thermal": 39.9,
        },
        rails={"VDD_IN", "VDD_CPU", "VDD_GPU", "VDD_SOC", "VDD_WIFI", "VDD_DDR"},
        rail_sample=("VDD_WIFI", PowerReading(38, 38)),
        total_rail="VDD_IN",
        total=PowerReading(1931, 1931),
        engines={"APE": EngineReading(None, 150)},
    ),
    "TX2-06.txt": Expected(
        ram_mb=(4722.0, 7844.0),
        swap_mb=None,
        core_count=6,
        offline_cores=(),
        cpu_percent=40.5,
        core_samples=(
            CoreReading(0, True, 55.0, 2035),
            CoreReading(1, True, 14.0, 2034),
        ),
        gpu=EngineReading(71.0, 1300),
        emc=EngineReading(2.0, 1866),
        temperatures_c={
            "bcpu": 45.0,
            "mcpu": 45.0,
            "gpu": 51.0,
            "pll": 45.0,
            "ao": 47.5,
            "tboard": 37.0,
            "tdiode": 46.75,
            "thermal": 46.4,
        },
        rails={"VDD_IN", "VDD_CPU", "VDD_GPU", "VDD_SOC", "VDD_WIFI", "VDD_DDR"},
        rail_sample=("VDD_GPU", PowerReading(6854, 6903)),
        total_rail="VDD_IN",
        total=PowerReading(14025, 14416),
        engines={"APE": EngineReading(None, 150)},
    ),
    "TX2-07.txt": Expected(
        ram_mb=(896.0, 7859.0),
        swap_mb=(0.0, 3929.0),
        core_count=6,
        offline_cores=(),
        cpu_percent=2.2,
        core_samples=(CoreReading(0, True, 4.0, 2035), CoreReading(1, True, 4.0, 345)),
        gpu=EngineReading(0.0, None),
        emc=EngineReading(0.0, None),
        temperatures_c={
            "pll": 34.5,
            "mcpu": 34.5,
            "tboard": 29.0,
            "gpu": 31.0,
            "bcpu": 34.5,
            "thermal": 32.8,
            "tdiode": 30.5,
        },
        rails={
            "VDD_SYS_GPU",
            "VDD_SYS_SOC",
            "VDD_4V0_WIFI",
            "VDD_IN",
            "VDD_SYS_CPU",
            "VDD_SYS_DDR",
        },
        rail_sample=("VDD_SYS_CPU", PowerReading(306, 306)),
        total_rail="VDD_IN",
        total=PowerReading(1840, 1840),
    ),
    "TX2-09.txt": Expected(
        ram_mb=(1873.0, 3830.0),
        swap_mb=None,
        core_count=6,
        offline_cores=(),
        cpu_percent=13.0,
        core_samples=(CoreReading(0, True, 8.0, 2016), CoreReading(3, True, 7.0, 2026)),
        gpu=EngineReading(0.0, 114),
        emc=EngineReading(0.0, 1600),
        temperatures_c={
            "pll": 39.0,
            "mcpu": 39.0,
            "tboard": 35.0,
            "gpu": 37.0,
            "bcpu": 39.0,
            "thermal": 38.5,
            "tdiode": 37.0,
        },
        rails={"VDD_SYS_GPU", "VDD_SYS_SOC", "VDD_IN", "VDD_SYS_CPU", "VDD_SYS_DDR"},
        rail_sample=("VDD_SYS_CPU", PowerReading(539, 937)),
        total_rail="VDD_IN",
        total=PowerReading(2930, 3405),
        engines={"APE": EngineReading(None, 150)},
    ),
    "TX2-10.txt": Expected(
        ram_mb=(1689.0, 3825.0),
        swap_mb=(0.0, 1913.0),
        core_count=6,
        offline_cores=(1, 2),
        cpu_percent=1.2,
        core_samples=(
            CoreReading(0, True, 3.0, 345),
            CoreReading(2, False, None, None),
        ),
        gpu=EngineReading(0.0, None),
        emc=EngineReading(0.0, None),
        temperatures_c={
            "pll": 50.5,
            "mcpu": 50.5,
            "gpu": 50.0,
            "bcpu": 50.5,
            "thermal": 50.3,
        },
        rails=set(),
        rail_sample=None,
        total_rail=None,
        total=None,
    ),
    "XNX-01.txt": Expected(
        ram_mb=(4412.0, 7772.0),
        swap_mb=(139.0, 3886.0),
        core_count=6,
        offline_cores=(),
        cpu_percent=6.3,
        core_samples=(CoreReading(0, True, 9.0, 1190), CoreReading(5, True, 8.0, 1267)),
        gpu=EngineReading(62.0, 306),
        emc=EngineReading(10.0, 1600),
        temperatures_c={
            "ao": 41.5,
            "gpu": 43.0,
            "aux": 41.5,
            "cpu": 43.5,
            "thermal": 42.55,
        },
        rails={"VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"},
        rail_sample=("VDD_SOC", PowerReading(1353, 1353)),
        total_rail="VDD_IN",
        total=PowerReading(4067, 4067),
        engines={"APE": EngineReading(None, 150)},
    ),
    "XNX-03.txt": Expected(
        ram_mb=(3168.0, 6851.0),
        swap_mb=(161.0, 3426.0),
        core_count=6,
        offline_cores=(),
        cpu_percent=17.0,
        core_samples=(
            CoreReading(0, True, 23.0, 1397),
            CoreReading(1, True, 17.0, 1192),
        ),
        gpu=EngineReading(0.0, 114),
        emc=EngineReading(2.0, 204),
        temperatures_c={
            "aux": 45.0,
            "cpu": 46.5,
            "thermal": 45.6,
            "ao": 45.0,
            "gpu": 45.5,
        },
        rails={"VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"},
        rail_sample=("VDD_SOC", PowerReading(650, 711)),
        total_rail="VDD_IN",
        total=PowerReading(2763, 2846),
        engines={"VIC_FREQ": EngineReading(None, 115), "APE": EngineReading(None, 150)},
    ),
}

SAMPLE_NAMES = sorted(EXPECTED)
SAMPLE_FILES = sorted(DATA_DIR.glob("*.txt"))


def read_sample(name: str) -> str:
    return (DATA_DIR / name).read_text(encoding="utf-8")


@cache
def parse_sample(name: str) -> Reading:
    return parse_line(read_sample(name))


def parse_or_error(text: str) -> Reading | TegrastatsLineError:
    """Return the Reading or the TegrastatsLineError, and let any other exception fail the test."""
    try:
        return parse_line(text)
    except TegrastatsLineError as error:
        return error


# Captured lines


def test_samples_directory_not_empty() -> None:
    assert SAMPLE_FILES, f"no *.txt samples in {DATA_DIR}"


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda path: path.name)
def test_sample_has_expected_row(path: Path) -> None:
    assert path.name in EXPECTED, f"add a row for {path.name} to EXPECTED"


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_expected_row_has_sample(name: str) -> None:
    assert (DATA_DIR / name).is_file()


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda path: path.name)
def test_sample_parses(path: Path) -> None:
    reading = parse_line(path.read_text(encoding="utf-8"))

    assert reading.memory is not None


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_ram(name: str) -> None:
    memory = parse_sample(name).memory

    assert memory is not None
    assert memory.used_mb == EXPECTED[name].ram_mb[0]
    assert memory.total_mb == EXPECTED[name].ram_mb[1]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_swap(name: str) -> None:
    swap = parse_sample(name).swap
    expected = EXPECTED[name].swap_mb

    if expected is None:
        assert swap is None
        return
    assert swap is not None
    assert swap.used_mb == expected[0]
    assert swap.total_mb == expected[1]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_core_count(name: str) -> None:
    cpu = parse_sample(name).cpu
    count = 0 if cpu is None else len(cpu.cores)

    assert count == EXPECTED[name].core_count


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_offline_cores(name: str) -> None:
    cpu = parse_sample(name).cpu
    cores = () if cpu is None else cpu.cores
    offline = tuple(core.index for core in cores if not core.online)

    assert offline == EXPECTED[name].offline_cores


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_cpu_percent(name: str) -> None:
    cpu = parse_sample(name).cpu
    percent = None if cpu is None else cpu.percent

    assert percent == EXPECTED[name].cpu_percent


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_core_values(name: str) -> None:
    cpu = parse_sample(name).cpu

    for expected in EXPECTED[name].core_samples:
        assert cpu is not None
        assert cpu.cores[expected.index] == expected


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_core_indexes(name: str) -> None:
    cpu = parse_sample(name).cpu
    cores = () if cpu is None else cpu.cores

    assert [core.index for core in cores] == list(range(len(cores)))


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_gpu(name: str) -> None:
    assert parse_sample(name).gpu == EXPECTED[name].gpu


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_emc(name: str) -> None:
    assert parse_sample(name).emc == EXPECTED[name].emc


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_temperatures(name: str) -> None:
    assert parse_sample(name).temperatures_c == EXPECTED[name].temperatures_c


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_rail_names(name: str) -> None:
    assert set(parse_sample(name).power_mw) == EXPECTED[name].rails


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_rail_value(name: str) -> None:
    power = parse_sample(name).power_mw
    sample = EXPECTED[name].rail_sample

    if sample is None:
        assert power == {}
        return
    rail, expected = sample
    assert power[rail] == expected


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_total_rail(name: str) -> None:
    assert parse_sample(name).power_total_rail == EXPECTED[name].total_rail


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_total_power(name: str) -> None:
    assert parse_sample(name).power_total == EXPECTED[name].total


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_engines(name: str) -> None:
    assert parse_sample(name).engines == EXPECTED[name].engines


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_leaves_other_fields_empty(name: str) -> None:
    reading = parse_sample(name)

    assert reading.disk is None
    assert reading.uptime_s is None
    assert reading.board is None


# Single fields


def test_total_rails_order() -> None:
    assert TOTAL_RAILS == ("VDD_IN", "POM_5V_IN", "VIN")


def test_ram_in_kilobytes() -> None:
    memory = parse_line("RAM 2048/4096kB").memory

    assert memory is not None
    assert memory.used_mb == 2.0
    assert memory.total_mb == 4.0


def test_ram_without_lfb() -> None:
    memory = parse_line("RAM 4300/30698MB CPU [1%@729]").memory

    assert memory is not None
    assert memory.total_mb == 30698.0


def test_first_ram_field_kept() -> None:
    memory = parse_line("RAM 1/2MB RAM 3/4MB").memory

    assert memory is not None
    assert memory.used_mb == 1.0


def test_emc_percent_without_freq() -> None:
    assert parse_line("RAM 1/2MB EMC_FREQ 12%").emc == EngineReading(12.0, None)


def test_emc_cut_after_at() -> None:
    assert parse_line("RAM 1/2MB EMC_FREQ 1%@").emc == EngineReading(1.0, None)


def test_emc_bare_at_ignored() -> None:
    assert parse_line("RAM 1/2MB EMC_FREQ @").emc is None


def test_gpu_per_gpc_max() -> None:
    assert parse_line("RAM 1/2MB GR3D_FREQ 5%@[300,900,600]").gpu == EngineReading(
        5.0, 900
    )


def test_gpu_empty_gpc_list_ignored() -> None:
    assert parse_line("RAM 1/2MB GR3D_FREQ 5%@[]").gpu is None


def test_cpu_rail_and_load_field() -> None:
    reading = parse_line("RAM 1/2MB CPU [4%@1190,off] CPU 465/466")

    assert reading.cpu is not None
    assert len(reading.cpu.cores) == 2
    assert reading.power_mw["CPU"] == PowerReading(465, 466)


def test_cpu_empty_list_ignored() -> None:
    assert parse_line("RAM 1/2MB CPU []").cpu is None


def test_cpu_bad_core_ignored() -> None:
    assert parse_line("RAM 1/2MB CPU [1%@345,??]").cpu is None


def test_power_average_without_unit() -> None:
    reading = parse_line("RAM 1/2MB VDD_CPU_GPU_CV 598mW/598")

    assert reading.power_mw["VDD_CPU_GPU_CV"] == PowerReading(598, 598)


def test_power_three_values() -> None:
    reading = parse_line("RAM 1/2MB VIN 124486mW/36487mW/124486mW")

    assert reading.power_mw["VIN"] == PowerReading(124486, 36487)


def test_duplicate_rail_numbered() -> None:
    reading = parse_line("RAM 1/2MB NC 1mW/2mW NC 3mW/4mW NC 5mW/6mW")

    assert reading.power_mw["NC"] == PowerReading(1, 2)
    assert reading.power_mw["NC#2"] == PowerReading(3, 4)
    assert reading.power_mw["NC#3"] == PowerReading(5, 6)


def test_bare_number_is_engine_clock() -> None:
    reading = parse_line("RAM 1/2MB NVENC 716")

    assert reading.engines == {"NVENC": EngineReading(None, 716)}
    assert reading.power_mw == {}


def test_total_rail_first_in_order() -> None:
    reading = parse_line("RAM 1/2MB VIN 9/9 VDD_IN 5/5")

    assert reading.power_total_rail == "VDD_IN"


def test_temperature_offline_left_out() -> None:
    assert parse_line("RAM 1/2MB GPU@-256C tj@44.3C").temperatures_c == {"tj": 44.3}


def test_temperature_pmic_left_out() -> None:
    assert parse_line("RAM 1/2MB PMIC@100C PMIC@50C").temperatures_c == {}


def test_temperature_two_values_takes_current() -> None:
    assert parse_line("RAM 1/2MB cpu@58.25C/61.75C").temperatures_c == {"cpu": 58.25}


def test_temperature_without_unit_ignored() -> None:
    assert parse_line("RAM 1/2MB GPU@26.5").temperatures_c == {}


# Unknown tokens


def test_unknown_token_ignored() -> None:
    reading = parse_line("RAM 1/2MB FUTURE_TOKEN value GR3D_FREQ 5%@100 VDD_IN 9mW/8mW")

    assert reading.gpu == EngineReading(5.0, 100)
    assert reading.power_mw == {"VDD_IN": PowerReading(9, 8)}
    assert reading.engines == {}


def test_mts_block_ignored() -> None:
    reading = parse_line("RAM 1/2MB MTS fg 0% bg 0% APE 150")

    assert reading.engines == {"APE": EngineReading(None, 150)}


def test_iram_ignored() -> None:
    reading = parse_line("RAM 1/2MB IRAM 0/252kB(lfb 252kB) CPU [1%@102]")

    assert reading.power_mw == {}
    assert reading.engines == {}
    assert reading.cpu is not None


def test_unknown_engine_kept() -> None:
    assert parse_line("RAM 1/2MB NEWENG_FREQ 3%@99").engines == {
        "NEWENG_FREQ": EngineReading(3.0, 99)
    }


def test_unicode_tokens_ignored() -> None:
    reading = parse_line("RAM 1/2MB ☃ Ünïcode@١٢C APE ٢٥ tj@40C")

    assert reading.temperatures_c == {"tj": 40.0}
    assert reading.engines == {}


# Malformed input


@pytest.mark.parametrize(
    "line",
    [
        "",
        "   ",
        "\n",
        "garbage",
        "RAM",
        "RAM abc",
        "RAM 12/34",
        "RAM /34MB",
        "RAM 1733/15827XB",
        "ram 1733/15827MB",
        "CPU [1%@345] GR3D_FREQ 0%@76 VDD_IN 1/1",
        "RAM ١٧٣٣/١٥٨٢٧MB",
        "RAM " + "9" * 5000 + "/1MB",
        bytes(range(256)).decode("latin-1"),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe".decode(
            "utf-8", errors="replace"
        ),
        "\x00" * 64,
    ],
    ids=[
        "empty",
        "spaces",
        "newline",
        "garbage",
        "ram-without-value",
        "ram-letters",
        "ram-without-unit",
        "ram-without-used",
        "ram-unknown-unit",
        "ram-lowercase",
        "no-ram-field",
        "ram-arabic-digits",
        "ram-huge-number",
        "all-latin1-bytes",
        "png-header",
        "nul-bytes",
    ],
)
def test_malformed_line_raises(line: str) -> None:
    with pytest.raises(TegrastatsLineError):
        parse_line(line)


def test_error_is_value_error() -> None:
    assert issubclass(TegrastatsLineError, ValueError)


def test_error_names_missing_ram() -> None:
    with pytest.raises(TegrastatsLineError, match="no RAM field"):
        parse_line("garbage")


def test_error_names_invalid_ram_value() -> None:
    with pytest.raises(TegrastatsLineError, match="invalid RAM value 'abc'"):
        parse_line("RAM abc")


def test_error_names_empty_line() -> None:
    with pytest.raises(TegrastatsLineError, match="empty line"):
        parse_line("")


def test_error_shortens_long_line() -> None:
    with pytest.raises(TegrastatsLineError) as caught:
        parse_line("x" * 10_000)

    assert len(str(caught.value)) < 200


# Truncated lines: a cut before the end of the RAM value raises, a later cut
# loses only the field it falls in.

AGXX_01 = (
    "RAM 1733/15827MB (lfb 3283x4MB) CPU [1%@1190,0%@1190,0%@1190,0%@1190,off,off,off,off] "
    "EMC_FREQ 0% GR3D_FREQ 4% AO@25.5C GPU@26.5C iwlwifi@32C Tboard@27C Tdiode@29.75C "
    "AUX@25.5C CPU@26.5C thermal@26.1C PMIC@100C GPU 621/621 CPU 465/465 SOC 1397/1397 "
    "CV 0/0 VDDRQ 0/0 SYS5V 2053/2053"
)


def test_truncation_fixture_matches_sample() -> None:
    assert read_sample("AGXX-01.txt").strip() == AGXX_01


@pytest.mark.parametrize(
    "cut", ["R", "RA", "RAM ", "RAM 1733/158", "RAM 1733/15827", "RAM 1733/15827M"]
)
def test_cut_inside_ram_raises(cut: str) -> None:
    with pytest.raises(TegrastatsLineError):
        parse_line(cut)


def test_cut_after_ram_parses() -> None:
    memory = parse_line("RAM 1733/15827MB").memory

    assert memory is not None
    assert memory.total_mb == 15827.0


def test_cut_inside_lfb_parses() -> None:
    assert parse_line("RAM 1733/15827MB (lfb 3283x4").memory is not None


def test_cut_inside_cpu_list() -> None:
    reading = parse_line(AGXX_01[: AGXX_01.index("0%@1190,off")])

    assert reading.memory is not None
    assert reading.cpu is None


def test_cut_inside_temperature() -> None:
    reading = parse_line(AGXX_01[: AGXX_01.index("GPU@26.5C") + len("GPU@26.")])

    assert reading.temperatures_c == {"ao": 25.5}
    assert reading.gpu == EngineReading(4.0, None)


def test_cut_inside_rail_name() -> None:
    reading = parse_line(AGXX_01[: AGXX_01.index("SYS5V") + len("SYS")])

    assert "SYS" not in reading.power_mw
    assert "VDDRQ" in reading.power_mw


def test_cut_inside_last_rail_value() -> None:
    # A cut inside the last number cannot be distinguished from a smaller value.
    reading = parse_line(AGXX_01[: -len("3")])

    assert reading.power_mw["SYS5V"] == PowerReading(2053, 205)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_prefix_parses_after_ram(name: str) -> None:
    line = read_sample(name).strip()
    ram_end = line.index("MB", line.index("RAM ")) + len("MB")

    for end in range(len(line) + 1):
        result = parse_or_error(line[:end])
        if end < ram_end:
            assert isinstance(result, TegrastatsLineError), line[:end]
        else:
            assert isinstance(result, Reading), line[:end]


# Fuzzing: no input string may raise anything but TegrastatsLineError.

FUZZ_SEED = 20240607
FUZZ_CASES_PER_SAMPLE = 300
FUZZ_CHARACTERS = "0123456789%@/[],.()-xCkMBW \t\n\x00\ufffd☃é٣" + "".join(
    map(chr, range(0x20, 0x7F))
)


def mutate(line: str, rng: random.Random) -> str:
    """Return a random slice of line with up to three random characters inserted."""
    start = rng.randrange(len(line))
    end = rng.randrange(start, len(line) + 1)
    chars = list(line[start:end])
    for _ in range(rng.randrange(4)):
        position = rng.randrange(len(chars) + 1)
        chars.insert(position, rng.choice(FUZZ_CHARACTERS))
    return "".join(chars)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_fuzzed_slices_raise_only_line_error(name: str) -> None:
    line = read_sample(name)
    rng = random.Random(f"{FUZZ_SEED}-{name}")

    for _ in range(FUZZ_CASES_PER_SAMPLE):
        text = mutate(line, rng)
        result = parse_or_error(text)
        assert isinstance(result, (Reading, TegrastatsLineError)), text


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_shuffled_tokens_raise_only_line_error(name: str) -> None:
    tokens = read_sample(name).split()
    rng = random.Random(f"{FUZZ_SEED}-shuffle-{name}")

    for _ in range(FUZZ_CASES_PER_SAMPLE):
        rng.shuffle(tokens)
        text = " ".join(tokens)
        result = parse_or_error(text)
        assert isinstance(result, (Reading, TegrastatsLineError)), text
