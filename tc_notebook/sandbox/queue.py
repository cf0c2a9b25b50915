"""The queue: Taskcluster's Queue v1 semantics on top of a `Store`, cut along
the seams of Taskcluster's own queue service. The API's handlers call
`QueueService.tasks`, `.claims`, `.artifacts` and `.workers` (and the Object
service's, `.objects`, which object artifacts are stored with); these answer with plain
dicts shaped like Taskcluster's responses or raise `APIError`. All share one
`Runs`, the run state machine; `resolvers` drive it in the background.
"""

from __future__ import annotations

from .artifacts import ArtifactService
from .blobs import BlobStore
from .claims import ClaimService
from .object_service import ObjectService
from .queue_lists import QueueLists
from .runs import Runs, TransitionListener
from .settings import QueueSettings
from .store import Store
from .tasks import TaskService
from .worker_info import WorkerInfo


class QueueService:
    """Every queue operation, by concern, on one store."""

    def __init__(self, store: Store, settings: QueueSettings, root_url: str) -> None:
        self.store = store
        self.settings = settings
        self.root_url = root_url
        self.runs = Runs(store)
        self.blobs = BlobStore(store, root_url, settings.max_blob_bytes)
        self.tasks = TaskService(self.runs)
        self.workers = WorkerInfo(store)
        self.queue_lists = QueueLists(store)
        self.claims = ClaimService(self.runs, settings, self.workers)
        self.objects = ObjectService(self)
        self.artifacts = ArtifactService(self.runs, self.blobs, self.objects)

    @property
    def transition_listeners(self) -> list[TransitionListener]:
        """Called with (event, task status) after every change of a task's runs."""
        return self.runs.transition_listeners
