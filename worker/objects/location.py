"""Where things are in an object store: a bucket and a key prefix (`s3://BUCKET/PREFIX/`)."""

from __future__ import annotations

from dataclasses import dataclass

from worker.settings import s3_url


@dataclass(frozen=True, slots=True)
class Location:
    bucket: str
    prefix: str  # "" (the whole bucket) or ending with "/"

    @classmethod
    def parse(cls, url: str) -> Location:
        bucket, _, prefix = s3_url(url)[5:].partition("/")
        return cls(bucket, prefix)

    def key(self, relative: str) -> str:
        return self.prefix + relative

    def relative(self, key: str) -> str:
        return key[len(self.prefix) :]

    def url(self, relative: str = "") -> str:
        return f"s3://{self.bucket}/{self.prefix}{relative}"
