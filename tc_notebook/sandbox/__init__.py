"""An embedded Taskcluster Queue (v1 subset) for laptops and Binder."""

from .process import SandboxProcess
from .server import Sandbox, SandboxServer
from .settings import QueueSettings

__all__ = ["QueueSettings", "Sandbox", "SandboxProcess", "SandboxServer"]
