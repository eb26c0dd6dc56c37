"""Sessions for tempo's packages: `nox -l` lists them."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint", "typecheck"]

ROOT = Path(__file__).parent
TEST_EXTRAS = ".[test]"
# Each package: what to install beside tempo-core, and where its tests live.
PACKAGES = {
    "core": ([], ["tests"]),
    # tempo-docker beside the Kubernetes plugins: the emulated cluster's images are built on its debootstrap base.
    # tritonclient: a third-party V2 client the conformance tests call tempo's servers with, over REST and gRPC.
    "kfserving": (
        [
            "-e",
            "plugins/tempo-kfserving[kubernetes,sklearn,xgboost]",
            "-e",
            "plugins/tempo-docker",
            "tritonclient[http,grpc]>=2.40,<3",
            "schemathesis>=4.3,<5",  # requests generated from the Open Inference Protocol's OpenAPI
        ],
        ["plugins/tempo-kfserving/tests"],
    ),
    "docker": (
        ["-e", "plugins/tempo-kfserving[sklearn,xgboost]", "-e", "plugins/tempo-docker"],
        ["plugins/tempo-docker/tests"],
    ),
    "seldon": (
        [
            "-e",
            "plugins/tempo-kfserving[sklearn,xgboost]",
            "-e",
            "plugins/tempo-seldon[server]",
            "-e",
            "plugins/tempo-docker",
        ],
        ["plugins/tempo-seldon/tests"],
    ),
}
# Installed without their dependencies: seldon-core (1.17, the last release under Apache-2.0) pins urllib3<1.27 and
# click<8.1, which tempo-core excludes (see plugins/tempo-seldon/pyproject.toml, whose `server` extra brings what it
# runs with).
NO_DEPS = {"seldon": ["seldon-core>=1.17.1,<1.18"]}


def install(session: nox.Session, *extra: str, core: str = TEST_EXTRAS) -> None:
    """Install tempo-core (`core`: with its test tools unless told), editable, plus `extra` pip arguments, with
    bytecode compiled; cache inside the clone."""
    # Servers start as from a pip install, which compiles bytecode; uv does not by default, and where
    # PYTHONDONTWRITEBYTECODE is set every server start would compile its sources (tempo's and MLServer's) again:
    # 2.2-2.9 s a start instead of 0.8 s.
    session.env["UV_COMPILE_BYTECODE"] = "1"
    session.install("-e", core, *extra)
    session.run_install("python", "-m", "compileall", "-q", "tempo_core", "plugins", "tests", "benchmarks")
    session.env["TEMPO_CACHE_DIR"] = str(ROOT / ".cache" / "tempo")


@nox.session
@nox.parametrize("package", list(PACKAGES))
def tests(session: nox.Session, package: str) -> None:
    """Run one package's tests against real servers."""
    extra, paths = PACKAGES[package]
    install(session, *extra, "-e", "tests/support")
    session.install("--no-deps", "tests/plugins/tempo-hello", *NO_DEPS.get(package, []))
    session.run("python", "-m", "pytest", "-q", "-rs", *paths, *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style with ruff."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Check tempo_core's types with mypy."""
    install(session, "mypy>=1.10")
    session.run("mypy", "tempo_core")


@nox.session
def demo(session: nox.Session) -> None:
    """Train the iris models, save, deploy the pipeline locally, predict, undeploy."""
    install(session, "-e", "plugins/tempo-kfserving[sklearn,xgboost]", core=".")
    session.run("python", "examples/iris/run.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks and print their ratios against baselines measured in the same run."""
    install(session, "-e", "plugins/tempo-kfserving[sklearn,xgboost]")
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        session.run("python", str(script.relative_to(ROOT)))
