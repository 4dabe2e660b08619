"""The fixed demo store the tests share: its last day and seed.

A fixed last day keeps every test reproducible; the demo's history ends here.
"""

import datetime as dt

DEMO_UNTIL = dt.date(2025, 11, 30)
DEMO_SEED = 11
