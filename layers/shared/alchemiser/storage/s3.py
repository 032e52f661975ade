"""The object store on AWS: objects under a prefix of one S3 bucket.

Keys follow the same rule as the local store (``check_object_key``), so a key that
works on a laptop works on AWS and the other way round. The S3 client is passed in
(built by the handler from its boto3 session), never created here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from alchemiser.storage.local import check_object_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_NOT_FOUND = ("NoSuchKey", "404", "NotFound")


def normalise_prefix(prefix: str) -> str:
    """Return ``prefix`` without a leading ``/`` and, unless empty, ending with one ``/``."""
    stripped = prefix.strip("/")
    return f"{stripped}/" if stripped else ""


class S3ObjectStore:
    """Objects at ``s3://bucket/prefix + key``."""

    def __init__(self, bucket: str, prefix: str, client: S3Client) -> None:
        if not bucket:
            raise ValueError("bucket must name an S3 bucket, was empty")
        self.bucket = bucket
        self.prefix = normalise_prefix(prefix)
        self._client = client

    def put_bytes(self, key: str, data: bytes, content_type: str) -> str:
        """Store ``data`` under ``key`` (one PUT: S3 objects appear whole); return its s3:// URI."""
        self._client.put_object(
            Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type
        )
        return self.locate(key)

    def get_bytes(self, key: str) -> bytes:
        """Return the object's bytes; raise FileNotFoundError when there is no such object."""
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _NOT_FOUND:
                raise FileNotFoundError(
                    f"no object {key!r} in s3://{self.bucket}/{self.prefix} "
                    f"(expected {self.locate(key)})"
                ) from error
            raise
        return response["Body"].read()

    def presign(self, key: str, expires_s: int) -> str:
        """Return an https URL that GETs ``key`` without credentials for ``expires_s`` seconds.

        S3 stops honouring it earlier when the credentials that signed it expire (a
        Lambda role's session): see ``alchemiser.analytics.publish``.
        """
        return self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._key(key)},
            ExpiresIn=expires_s,
        )

    def locate(self, key: str) -> str:
        """Return the s3:// URI of ``key`` (whether or not it exists yet)."""
        return f"s3://{self.bucket}/{self._key(key)}"

    def _key(self, key: str) -> str:
        return self.prefix + check_object_key(key)
