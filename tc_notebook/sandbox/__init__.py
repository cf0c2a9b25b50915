"""An embedded Taskcluster Queue (v1 subset) for laptops and Binder."""

from .process import SandboxProcess
from .queue import QueueSettings
from .server import Sandbox, SandboxServer

__all__ = ["QueueSettings", "Sandbox", "SandboxProcess", "SandboxServer"]
