"""Running the notebooks: the runner (`playbook run`), its kernel pool, the HTML reports and
index it writes, the schedule and the failure notices."""
