"""tempo-docker: serve tempo models in containers of this machine's Docker engine, with images built offline."""

from tempo_docker.base import build_base_image
from tempo_docker.build import build_image
from tempo_docker.options import DEFAULT_BASE, DEFAULT_IMAGE, DockerOptions
from tempo_docker.push import push_image
from tempo_docker.runtime import DockerRuntime
from tempo_docker.version import __version__

__all__ = [
    "DockerOptions",
    "DockerRuntime",
    "build_image",
    "push_image",
    "build_base_image",
    "DEFAULT_IMAGE",
    "DEFAULT_BASE",
    "__version__",
]
