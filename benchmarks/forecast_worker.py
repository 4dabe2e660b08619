"""Forecast weekly series with statsforecast's models; run in the forecast benchmark's own
environment (statsforecast needs pandas < 3), not in the project's.

    python forecast_worker.py JOB.parquet ...

Each job holds columns unique_id, ds (week number), y (units); every series is forecast
HORIZON weeks past its own last week by each model, one model at a time, single-threaded.
Writes JOB.forecasts.parquet (unique_id, step 1..HORIZON, one column per model) and
JOB.seconds.json (wall time per model).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

HORIZON = 8
SEASON = 52
TSB_ALPHA_D = 0.1  # demand size: a slow level, as for a weekly series of small counts
TSB_ALPHA_P = 0.1  # demand probability: equally slow


def models() -> list:
    """The library's models, in the report's order."""
    from statsforecast.models import ADIDA, IMAPA, TSB, AutoETS, CrostonSBA, SeasonalNaive

    return [AutoETS(season_length=1, alias="AutoETS"), CrostonSBA(), ADIDA(), IMAPA(),
            TSB(alpha_d=TSB_ALPHA_D, alpha_p=TSB_ALPHA_P),
            SeasonalNaive(season_length=SEASON)]


def run(job: Path) -> None:
    """Forecast every series of one job file with every model; write the results."""
    # Imported here: the project's test run collects this file without statsforecast.
    from statsforecast import StatsForecast
    from statsforecast.models import HistoricAverage

    frame = pd.read_parquet(job)
    out, seconds = None, {}
    for model in models():
        name = model.alias
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SeasonalNaive on series shorter than a year
            # A model that cannot fit a series (AutoETS on a few weeks of history)
            # forecasts its mean instead.
            done = StatsForecast(models=[model], freq=1, n_jobs=1,
                                 fallback_model=HistoricAverage()).forecast(df=frame,
                                                                           h=HORIZON)
        seconds[name] = time.perf_counter() - started
        done["step"] = done.groupby("unique_id").cumcount() + 1
        done = done[["unique_id", "step", name]]
        out = done if out is None else out.merge(done, on=["unique_id", "step"])
    out.to_parquet(job.with_suffix(".forecasts.parquet"), index=False)
    job.with_suffix(".seconds.json").write_text(json.dumps(seconds), encoding="utf-8")
    print(f"{job.name}: " + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()),
          flush=True)


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        run(Path(argument))
