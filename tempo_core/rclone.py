"""The core's uploader: rclone copies artifact folders to S3, GCS, local paths and any configured rclone remote."""

from __future__ import annotations

import configparser
import logging
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from tempo_core.errors import UploadError
from tempo_core.uploader import Uploader

__all__ = ["RcloneOptions", "RcloneUploader"]

logger = logging.getLogger(__name__)

INSTALL_HINT = "install it with `apt-get install rclone` or see https://rclone.org/install/"
# rclone's defaults retry a dead endpoint or a rejected key for minutes; fail within seconds instead.
FAST_FAIL_FLAGS = ("--contimeout", "5s", "--timeout", "30s", "--retries", "1", "--low-level-retries", "1")
EXIT_DIRECTORY_NOT_FOUND = 3
EXIT_NO_FILES_TRANSFERRED = 9
# Remotes that tempo defines through RCLONE_CONFIG_<NAME>_<KEY> variables in rclone's environment.
S3_REMOTE = "tempo_s3"
GCS_REMOTE = "tempo_gs"
# Config-file keys and environment variable names whose values are credentials, to scrub from messages.
SECRET_NAME_PARTS = ("secret", "key", "token", "pass", "credentials")
# Shorter values would blank out ordinary words and digits in a message; no real credential is that short.
MIN_SCRUBBED_LENGTH = 4
STDERR_TAIL_CHARS = 2000

CREDENTIAL_ERRORS = {
    "InvalidAccessKeyId": "the server does not know the access key id",
    "SignatureDoesNotMatch": "the secret access key does not match the access key id",
    "AccessDenied": "the credentials are not allowed to do this",
    "ExpiredToken": "the session token has expired",
    "InvalidToken": "the session token is invalid",
    "NoCredentialProviders": "no credentials were found",
    "could not find default credentials": "no Google credentials were found",
    "error getting credentials": "the Google credentials could not be read",
    "invalid_grant": "the Google credentials were rejected",
    "Error 401": "the credentials were rejected",
    "Error 403": "the credentials are not allowed to do this",
}
MISSING_BUCKET_ERRORS = ("NoSuchBucket", "specified bucket does not exist")
TLS_ERRORS = ("x509:", "tls: ")
UNREACHABLE_ERRORS = (
    "connection refused",
    "no such host",
    "i/o timeout",
    "network is unreachable",
    "connection reset",
    "send request failed",
    "context deadline exceeded",
    "dial tcp",
)
UNKNOWN_REMOTE_ERROR = "didn't find section in config file"


class RcloneOptions(BaseModel):
    """Credentials, endpoint and limits for rclone; unset fields fall back to environment variables, then to
    the rclone config file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    config_file: Path | None = Field(
        default=None, description="rclone config file; default $RCLONE_CONFIG, then rclone's own default path."
    )
    endpoint_url: str | None = Field(
        default=None,
        description="S3 endpoint URL; default $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL or $S3_ENDPOINT_URL.",
    )
    access_key_id: SecretStr | None = Field(default=None, description="S3 access key id; default $AWS_ACCESS_KEY_ID.")
    secret_access_key: SecretStr | None = Field(
        default=None, description="S3 secret access key; default $AWS_SECRET_ACCESS_KEY."
    )
    session_token: SecretStr | None = Field(default=None, description="S3 session token; default $AWS_SESSION_TOKEN.")
    region: str | None = Field(default=None, description="S3 region; default $AWS_REGION or $AWS_DEFAULT_REGION.")
    provider: str | None = Field(
        default=None, description="rclone's S3 provider (AWS, Minio, Ceph, Other, ...); default Other with an endpoint."
    )
    service_account_file: Path | None = Field(
        default=None, description="Google service-account JSON for gs:// URIs; default Google's own credential search."
    )
    rclone_binary: str = Field(default="rclone", description="rclone executable, a name on PATH or a path.")
    timeout: float | None = Field(
        default=3600.0, gt=0, description="Seconds one copy may take before it is stopped; None for no limit."
    )

    @model_validator(mode="after")
    def _keys_come_in_pairs(self) -> RcloneOptions:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("give access_key_id and secret_access_key together, or neither")
        return self


@dataclass(frozen=True)
class _Location:
    """A URI as rclone sees it: the path argument and the environment variables that define its remote."""

    uri: str
    path: str
    is_root: bool
    credentials_hint: str
    env: dict[str, str] = field(default_factory=dict)
    endpoint: str | None = None


class RcloneUploader(Uploader):
    """Copies artifact folders with the rclone binary: s3://, gs://, file:/// and `remote:path` for any remote in
    the rclone config file. Credentials come from the options, then environment variables, then the config file."""

    def __init__(self, options: RcloneOptions | None = None) -> None:
        self.options = options or RcloneOptions()

    def upload(self, folder: Path, uri: str) -> None:
        """Make `uri` hold exactly the files of `folder` (rclone sync): new and changed files are copied and files
        no longer in `folder` are deleted there."""
        folder = Path(folder)
        if not folder.is_dir():
            raise UploadError(f"Cannot upload {folder} to {uri}: it is not a folder; save the model into it first.")
        location = self._locate(uri)
        if location.is_root:
            raise UploadError(
                f"Refusing to upload {folder} to {uri}: syncing would delete everything else in that bucket or folder; "
                "add a path, e.g. s3://bucket/models/name."
            )
        result = self._rclone(["sync", str(folder.resolve()), location.path], location, progress=True)
        if result.returncode != 0:
            raise UploadError(self._failure(f"Upload of {folder} to {uri} failed", result, location))

    def download(self, uri: str, folder: Path) -> None:
        """Copy every file under `uri` into `folder`, creating it; fails if `uri` holds no files."""
        location = self._locate(uri)
        target = Path(folder).resolve()
        result = self._rclone(["copy", location.path, str(target), "--error-on-no-transfer"], location, progress=True)
        if result.returncode == EXIT_NO_FILES_TRANSFERRED and self._holds_files(location):
            return  # `folder` already had every file
        if result.returncode in (EXIT_NO_FILES_TRANSFERRED, EXIT_DIRECTORY_NOT_FOUND):
            raise UploadError(
                f"Download of {uri} into {folder} failed: there are no files at {uri}; check the bucket and path, "
                "and that the artifact was uploaded."
            )
        if result.returncode != 0:
            raise UploadError(self._failure(f"Download of {uri} into {folder} failed", result, location))

    # ---- where a URI points ------------------------------------------------------------------------

    def _locate(self, uri: str) -> _Location:
        scheme, separator, rest = uri.partition("://")
        if separator and scheme == "file":
            return self._local(uri)
        if separator and scheme == "s3":
            return self._s3(uri, rest)
        if separator and scheme == "gs":
            return self._gcs(uri, rest)
        if not separator:
            scheme, separator, rest = uri.partition(":")
        if not (separator and scheme) or "/" in scheme:
            raise UploadError(
                f"uri {uri!r} names no storage; write it as s3://bucket/path, gs://bucket/path, file:///abs/path "
                "or remote:path for a remote in your rclone config."
            )
        return self._configured(uri, scheme, rest)

    def _local(self, uri: str) -> _Location:
        parts = urlsplit(uri)
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not path.startswith("/"):
            raise UploadError(f"uri {uri!r} is not an absolute file URI; write it as file:///abs/path.")
        return _Location(uri, path, is_root=not path.strip("/"), credentials_hint="check the file permissions")

    def _s3(self, uri: str, rest: str) -> _Location:
        bucket, _, key = rest.partition("/")
        if not bucket:
            raise UploadError(f"uri {uri!r} names no bucket; write it as s3://bucket/path.")
        keys = self._s3_keys()
        options = self.options
        explicit = options.endpoint_url or options.region or options.provider
        if keys is None and not explicit and "s3" in self._config_sections():
            return self._configured(uri, "s3", rest)
        endpoint = options.endpoint_url or _first_env("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "S3_ENDPOINT_URL")
        region = options.region or _first_env("AWS_REGION", "AWS_DEFAULT_REGION")
        config = {
            "type": "s3",
            "provider": options.provider or ("Other" if endpoint else "AWS"),
            # Without keys, the AWS SDK's own search: shared credentials file, AWS_PROFILE, instance roles.
            "env_auth": "false" if keys else "true",
            # rclone would otherwise create a missing bucket, so a typo in a bucket name would go unnoticed.
            "no_check_bucket": "true",
        }
        if endpoint:
            config["endpoint"] = endpoint
        if region:
            config["region"] = region
        if keys:
            config["access_key_id"], config["secret_access_key"], config["session_token"] = keys
        return _Location(
            uri,
            f"{S3_REMOTE}:{rest}",
            is_root=not key.strip("/"),
            credentials_hint="check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or RcloneOptions(access_key_id=..., "
            "secret_access_key=...)",
            env=_remote_env(S3_REMOTE, config),
            endpoint=endpoint,
        )

    def _s3_keys(self) -> tuple[str, str, str] | None:
        options = self.options
        if options.access_key_id is not None and options.secret_access_key is not None:
            token = options.session_token.get_secret_value() if options.session_token else ""
            return options.access_key_id.get_secret_value(), options.secret_access_key.get_secret_value(), token
        access_key, secret_key = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
        if access_key and secret_key:
            return access_key, secret_key, os.environ.get("AWS_SESSION_TOKEN", "")
        return None

    def _gcs(self, uri: str, rest: str) -> _Location:
        bucket, _, key = rest.partition("/")
        if not bucket:
            raise UploadError(f"uri {uri!r} names no bucket; write it as gs://bucket/path.")
        account_file = self.options.service_account_file
        from_environment = account_file is not None or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        if not from_environment and "gs" in self._config_sections():
            return self._configured(uri, "gs", rest)
        # Without a service account rclone falls back to Google's default credentials (GOOGLE_APPLICATION_CREDENTIALS,
        # gcloud, the metadata server). Bucket-level IAM works on uniform and fine-grained buckets alike.
        config = {"type": "google cloud storage", "bucket_policy_only": "true", "no_check_bucket": "true"}
        if account_file is not None:
            config["service_account_file"] = str(account_file)
        return _Location(
            uri,
            f"{GCS_REMOTE}:{rest}",
            is_root=not key.strip("/"),
            credentials_hint="check GOOGLE_APPLICATION_CREDENTIALS or RcloneOptions(service_account_file=...)",
            env=_remote_env(GCS_REMOTE, config),
        )

    def _configured(self, uri: str, remote: str, rest: str) -> _Location:
        hint = f"check the remote '{remote}' in {self._config_file() or 'your rclone config'}"
        bucket_path = rest.partition("/")[2] if remote in ("s3", "gs") else rest
        return _Location(uri, f"{remote}:{rest}", is_root=not bucket_path.strip("/"), credentials_hint=hint)

    # ---- the rclone config file --------------------------------------------------------------------

    def _config_file(self) -> Path | None:
        if self.options.config_file is not None:
            return _existing(self.options.config_file, "RcloneOptions.config_file")
        if os.environ.get("RCLONE_CONFIG"):
            return _existing(Path(os.environ["RCLONE_CONFIG"]), "RCLONE_CONFIG")
        config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        for candidate in (config_home / "rclone" / "rclone.conf", Path.home() / ".rclone.conf"):
            if candidate.is_file():
                return candidate
        return None

    def _config_sections(self) -> dict[str, dict[str, str]]:
        path = self._config_file()
        if path is None:
            return {}
        parser = configparser.RawConfigParser(strict=False)
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            return {}  # an encrypted config: only rclone can read it
        return {name: dict(parser[name]) for name in parser.sections()}

    # ---- running rclone ----------------------------------------------------------------------------

    def _rclone(self, arguments: list[str], location: _Location, *, progress: bool) -> subprocess.CompletedProcess[str]:
        binary = shutil.which(self.options.rclone_binary)
        if binary is None:
            raise UploadError(
                f"rclone is needed to copy {location.uri}, but {self.options.rclone_binary!r} was not found on PATH; "
                f"{INSTALL_HINT}, or set RcloneOptions(rclone_binary=...)."
            )
        config_file = self._config_file()
        command = [binary, *arguments, "--config", str(config_file or os.devnull), "--ask-password=false"]
        command += FAST_FAIL_FLAGS
        show_progress = progress and sys.stderr.isatty()
        if show_progress:
            command.append("--progress")
        # rclone 1.60's S3 backend fails with "unable to load custom CA bundle" whenever AWS_CA_BUNDLE is set.
        env = {name: value for name, value in os.environ.items() if name != "AWS_CA_BUNDLE"}
        env.update(location.env)
        logger.debug("running %s", shlex.join(command))
        try:
            return subprocess.run(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=sys.stderr if show_progress else subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                timeout=self.options.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise UploadError(
                f"rclone did not finish copying {location.uri} within {self.options.timeout:g} s and was stopped; "
                "check the network, or allow more time with RcloneOptions(timeout=...)."
            ) from exc
        except OSError as exc:
            raise UploadError(f"rclone at {binary} could not be started ({exc.strerror}); {INSTALL_HINT}.") from exc

    def _holds_files(self, location: _Location) -> bool:
        result = self._rclone(["lsf", "--recursive", "--files-only", location.path], location, progress=False)
        return result.returncode == 0 and bool(result.stdout.strip())

    # ---- explaining failures -----------------------------------------------------------------------

    def _failure(self, action: str, result: subprocess.CompletedProcess[str], location: _Location) -> str:
        said = self._scrub(result.stderr, location)
        tail = said.strip()[-STDERR_TAIL_CHARS:]
        return f"{action}: {self._diagnose(said, result.returncode, location)}\nrclone said:\n{tail}"

    def _diagnose(self, said: str, returncode: int, location: _Location) -> str:
        lowered = said.lower()
        if UNKNOWN_REMOTE_ERROR in lowered:
            remote = location.path.partition(":")[0]
            configured = ", ".join(sorted(self._config_sections())) or "none"
            config_file = self._config_file() or "no rclone config file found"
            return (
                f"unknown rclone remote '{remote}' (configured: {configured}; {config_file}); add it with "
                f"`rclone config`, or define it with RCLONE_CONFIG_{remote.upper()}_TYPE=... environment variables."
            )
        for code, meaning in CREDENTIAL_ERRORS.items():
            if code.lower() in lowered:
                return f"bad credentials ({code}: {meaning}); {location.credentials_hint}."
        if any(code.lower() in lowered for code in MISSING_BUCKET_ERRORS):
            return f"the bucket of {location.uri} does not exist; create it first, or fix the bucket name."
        endpoint = location.endpoint or "the storage endpoint"
        if any(code in lowered for code in TLS_ERRORS):
            return (
                f"the TLS connection to {endpoint} failed (an untrusted certificate, or https to an http server); "
                "check the endpoint URL's scheme, or point SSL_CERT_FILE at a CA bundle that includes its issuer."
            )
        if any(code in lowered for code in UNREACHABLE_ERRORS):
            return (
                f"endpoint unreachable: cannot connect to {endpoint}; check that it is running and the endpoint URL "
                "(RcloneOptions(endpoint_url=...) or AWS_ENDPOINT_URL) and network are right."
            )
        return f"rclone exited with code {returncode}; see its message below."

    def _scrub(self, text: str, location: _Location) -> str:
        secrets = {
            value
            for name, value in [*os.environ.items(), *location.env.items(), *self._config_secrets(location)]
            if any(part in name.lower() for part in SECRET_NAME_PARTS) and len(value) >= MIN_SCRUBBED_LENGTH
        }
        for option in (self.options.access_key_id, self.options.secret_access_key, self.options.session_token):
            if option is not None and option.get_secret_value():
                secrets.add(option.get_secret_value())
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def _config_secrets(self, location: _Location) -> list[tuple[str, str]]:
        return list(self._config_sections().get(location.path.partition(":")[0], {}).items())


def _first_env(*names: str) -> str | None:
    return next((os.environ[name] for name in names if os.environ.get(name)), None)


def _remote_env(remote: str, config: dict[str, str]) -> dict[str, str]:
    return {f"RCLONE_CONFIG_{remote.upper()}_{key.upper()}": value for key, value in config.items() if value}


def _existing(path: Path, source: str) -> Path:
    if not path.is_file():
        raise UploadError(f"rclone config file {path} (from {source}) does not exist; fix the path or unset it.")
    return path
