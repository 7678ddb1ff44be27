"""Sweeps: a grid of benchmark runs, planned into ``sweep.json`` and executed resumably.

``grid`` turns a :class:`SweepGrid` into run configurations, ``plan`` writes and reads the plan,
``state`` reads what is already on disk, ``task`` runs one configuration (in any process),
``executors`` run many (in process, a process pool, or Ray), and ``driver`` ties them together.
"""

from zsbench.sweep.driver import RunReport, SweepSummary, run_sweep
from zsbench.sweep.events import SweepCallback, SweepEvent
from zsbench.sweep.grid import RandomSplits, SweepGrid
from zsbench.sweep.plan import PlannedRun, SweepPlan, build_plan, load_plan, write_plan

__all__ = [
    "PlannedRun",
    "RandomSplits",
    "RunReport",
    "SweepCallback",
    "SweepEvent",
    "SweepGrid",
    "SweepPlan",
    "SweepSummary",
    "build_plan",
    "load_plan",
    "run_sweep",
    "write_plan",
]
