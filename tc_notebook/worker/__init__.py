"""`tc-notebook worker`: a Taskcluster worker that runs tasks as local processes.

It serves task queues of any deployment (a sandbox or a real one) through the
official client, with a worker's scopes only; see `worker.Worker`.
"""

from .worker import Worker, WorkerSettings

__all__ = ["Worker", "WorkerSettings"]
