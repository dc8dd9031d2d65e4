"""Allan deviation of a simulated static IMU, against its noise model.

Simulates ``--hours`` of a resting IMU (a preset, optionally with overrides) with the
sensor's own vectorized noise generator and prints, per τ, the measured overlapping Allan
deviation (mean of the three axes) beside the model: white noise N/√τ, the Gauss-Markov
bias bump whose peak is the configured bias instability, and the random walk K√(τ/3).

    python tools/allan.py --preset bmi088 --hours 3 --rate 200
    python tools/allan.py --preset bmi088 --set gyro_bias_corr_time_s=5 --set gyro_bias_instability=3e-4

Writes ``runs/bench/allan_<preset>.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import report  # noqa: E402

from simsuite.sensors import ACCEL, GYRO, PRESETS, Imu, ImuConfig, Mount, allan_deviation  # noqa: E402
from simsuite.sensors.imu import GM_ALLAN_PEAK, gm_allan_deviation  # noqa: E402


def model(cfg: ImuConfig, triad: str, taus: np.ndarray) -> np.ndarray:
    n = getattr(cfg, f"{triad}_noise_density")
    b = getattr(cfg, f"{triad}_bias_instability")
    t = getattr(cfg, f"{triad}_bias_corr_time_s")
    k = getattr(cfg, f"{triad}_random_walk")
    return np.sqrt(n**2 / taus + gm_allan_deviation(taus, b / GM_ALLAN_PEAK, t) ** 2 + k**2 * taus / 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="bmi088", choices=[k for k, (kind, _) in PRESETS.items() if kind == "imu"])
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--rate", type=float, default=200.0, help="sample rate [Hz]")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override a config field")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    fields = dict(PRESETS[args.preset][1], rate_hz=args.rate)
    for item in args.set:
        key, _, value = item.partition("=")
        fields[key] = float(value)
    cfg = ImuConfig(**fields)
    imu = Imu("imu", cfg, Mount(body="static"))
    imu.reset_noise(np.random.default_rng(args.seed))
    dt = 1.0 / args.rate
    n = int(args.hours * 3600 * args.rate)
    t0 = time.perf_counter()
    y = imu.simulate(np.zeros((n, 6)), dt).astype(np.float64)  # at rest: truth 0 (constants cancel)
    t1 = time.perf_counter()
    taus, adev = allan_deviation(y, dt)
    t2 = time.perf_counter()
    rows = []
    for i, tau in enumerate(taus):
        a, g = adev[i, ACCEL].mean(), adev[i, GYRO].mean()
        ma, mg = model(cfg, "accel", taus[i : i + 1])[0], model(cfg, "gyro", taus[i : i + 1])[0]
        rows.append([f"{tau:.3g}", f"{a:.3e}", f"{ma:.3e}", f"{a / ma:.3f}", f"{g:.3e}", f"{mg:.3e}", f"{g / mg:.3f}"])
    print(f"{n:,} samples x 6 axes generated in {t1 - t0:.2f} s; Allan deviation in {t2 - t1:.2f} s")
    report(
        f"allan_{args.preset}",
        ["tau_s", "accel", "accel model", "ratio", "gyro", "gyro model", "ratio"],
        rows,
        extra={"config": {k: getattr(cfg, k) for k in cfg.field_names()}, "hours": args.hours, "rate_hz": args.rate},
    )


if __name__ == "__main__":
    main()
