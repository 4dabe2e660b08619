"""Store Ops Playbook: the library under the notebooks.

Reach everything else through its module (opslib.metrics.sales, opslib.views, ...).
"""

from opslib.config import Settings, load_settings
from opslib.display import record
from opslib.errors import OpslibError
from opslib.store import Store, Window

__all__ = ["Store", "Window", "Settings", "load_settings", "OpslibError", "record"]
