"""The kit on a real Taskcluster (the rig): `tc-notebook worker` serving a
queue of it, the notebooks under nbval, and the widgets' main scenarios."""
