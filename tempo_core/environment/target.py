"""The interpreter and platform that a cluster's server image runs, which environment tarballs are built for."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = ["ServerTarget", "PLATFORMS", "check_python_version", "check_platform", "wheel_platform"]

# uv's --python-platform for each target platform. MLServer 1.7.1's image is ubi9 (glibc 2.34), so any level up to
# 2_34 runs there; 2_28 also takes wheels that have dropped manylinux2014 (numpy 2.3+, pandas 3, gevent 26 ship
# x86_64 wheels for 2_27/2_28 only, and 2_17 finds none of them), and still runs on images of glibc 2.28 (ubi8).
PLATFORMS = {"linux_x86_64": "x86_64-manylinux_2_28", "linux_aarch64": "aarch64-manylinux_2_28"}
_PYTHON_VERSION = re.compile(r"^3\.\d+$")


def check_python_version(value: str, field: str) -> str:
    """`value` if it is a CPython minor version such as ``3.10``; else a ValueError naming `field` and the fix."""
    if not _PYTHON_VERSION.match(value):
        raise ValueError(
            f"{field} {value!r} is not a CPython minor version; write it as major.minor, e.g. '3.10', the Python "
            "of the image that serves the model"
        )
    return value


def check_platform(value: str, field: str) -> str:
    """`value` if tempo builds environments for that platform; else a ValueError naming `field` and the choices."""
    if value not in PLATFORMS:
        raise ValueError(f"{field} {value!r} is not a platform tempo builds for; use one of: {', '.join(PLATFORMS)}")
    return value


def wheel_platform(sysconfig_platform: str) -> str:
    """A ``sysconfig.get_platform()`` value as a wheel's platform tag names it: ``linux-x86_64`` -> ``linux_x86_64``."""
    return sysconfig_platform.replace("-", "_").replace(".", "_")


class ServerTarget(BaseModel):
    """The interpreter and platform of the image that activates an artifact's environment.tar.gz: by default the
    stock MLServer 1.7.1 image's, CPython 3.10 on linux x86_64."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    python_version: str = "3.10"
    platform: str = "linux_x86_64"

    @field_validator("python_version")
    @classmethod
    def _python_version(cls, value: str) -> str:
        return check_python_version(value, "python_version")

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str) -> str:
        return check_platform(value, "platform")

    @property
    def uv_platform(self) -> str:
        """The value of uv's ``--python-platform`` that selects wheels this target can load."""
        return PLATFORMS[self.platform]

    def __str__(self) -> str:
        return f"CPython {self.python_version} on {self.platform}"
