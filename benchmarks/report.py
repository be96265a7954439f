"""How long one ECG report takes, for a 10 s and a 30-minute record, with the bundled model.

Each record is synthetic (500 Hz, 12 leads), written once; then, in this process, the report is
made ``--repeats`` times and the fastest time of each part is printed:

- predict: the driver's own path on the record (``Predictor.predict_record``), for comparison;
- explain: the report's model work, all windows through the network once plus the occlusion
  windows (12 per window that fired a positive class), ``explain_record``;
- draw + save: laying out the page and writing the PNG (``save_report``, which also draws).

Reading the model folder and importing torch and matplotlib come on top, once per command (printed
too). Timings on a shared machine are noisy: compare the figures of one run.

    python benchmarks/report.py [--model model] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seecgnet.inference.loading import load_model
from seecgnet.io.records import read_record
from seecgnet.io.synthetic import write_synthetic_record
from seecgnet.report.explain import explain_record
from seecgnet.report.page import build_report, save_report

ROOT = Path(__file__).resolve().parents[1]


def fastest(repeats: int, work) -> float:
    """The fastest of ``repeats`` timed calls of ``work()``, in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "model"), help="model folder")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each part")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    loaded = load_model(args.model)
    print(f"model loaded in {time.perf_counter() - started:.2f} s")
    with tempfile.TemporaryDirectory() as folder:
        for duration_s in (10.0, 1800.0):
            header = write_synthetic_record(folder, f"R{int(duration_s)}", duration_s=duration_s)
            record = read_record(header)
            predict = fastest(args.repeats, lambda r=record: loaded.predictor.predict_record(r))
            explain = fastest(args.repeats, lambda r=record: explain_record(loaded.predictor, r))
            report = build_report(loaded, record)
            out = Path(folder) / "report.png"
            draw = fastest(args.repeats, lambda rep=report, o=out: save_report(rep, o))
            print(
                f"{duration_s:6.0f} s record: predict {predict:.2f} s, explain {explain:.2f} s "
                f"({len(report.explanation.positive_classes)} positive classes), draw + save "
                f"{draw:.2f} s, report {explain + draw:.2f} s ({out.stat().st_size // 1024} KB)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
