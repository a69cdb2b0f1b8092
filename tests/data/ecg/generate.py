"""Writes the synthetic ECG files of this folder (see SOURCE.txt); run from the repository.

    python tests/data/ecg/generate.py
"""

from __future__ import annotations

from pathlib import Path

import neurokit2 as nk
import numpy as np

HERE = Path(__file__).parent


def ecg_uv(duration_s: float, fs: int, heart_rate: float, seed: int) -> np.ndarray:
    """neurokit2's ECGSYN model (mV), in µV."""
    mv = nk.ecg_simulate(duration=duration_s, sampling_rate=fs, heart_rate=heart_rate,
                         heart_rate_std=0, noise=0.01, random_state=seed)
    return np.asarray(mv, dtype=np.float64) * 1000.0


def apple_header(recorded: str, rate: str) -> list[str]:
    return [
        "Name,Jane Example",
        'Date of Birth,"Jan 1, 1980"',
        f"Recorded Date,{recorded}",
        "Classification,Sinus Rhythm",
        "Symptoms,",
        "Software Version,1.90",
        'Device,"Watch6,2"',
        f"Sample Rate,{rate}",
        ",",
        "Lead,Lead I",
        "Unit,µV",
        ",",
        ",",
    ]


def main() -> None:
    uv = ecg_uv(20, 512, 72, seed=7)
    lines = apple_header("2023-03-14 08:15:30 +0100", "512 hertz")
    lines += [f"{v:.3f}" for v in uv]
    (HERE / "apple_health_ecg_512hz.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    uv = ecg_uv(10, 512, 90, seed=8)
    lines = apple_header("2023-03-15 21:40:02 +0100", "512 Hertz")
    lines += ['"' + f"{v:.3f}".replace(".", ",") + '"' for v in uv]
    (HERE / "apple_health_ecg_decimal_comma.csv").write_text("\r\n".join(lines) + "\r\n",
                                                             encoding="utf-8")

    uv = ecg_uv(60, 250, 60, seed=9)
    lines = ["ECG [uV]"] + [f"{v:.1f}" for v in uv]
    (HERE / "ecg_uv_250hz.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
