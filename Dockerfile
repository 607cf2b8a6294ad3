# syntax=docker/dockerfile:1
# inbox-ingest: one image for `ingest migrate`, `ingest worker`, `ingest watch`
# and Celery Flower. See docker-compose.yml for how the stack is wired.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app

# Only what the package needs (see .dockerignore). README.md* : the readme is
# package metadata, but a missing one must not break the build.
COPY pyproject.toml README.md* ./
COPY worker ./worker
# The project with its declared dependencies (pyproject.toml), plus Flower for the
# compose file's flower profile; nothing else is installed.
RUN pip install --no-cache-dir . "flower>=2,<3" \
    && rm -rf build ./*.egg-info

# Settings come from INGEST_* environment variables (docker-compose.yml sets
# them); mount a TOML file and set INGEST_CONFIG to use one instead.
# A fixed, non-root uid/gid (10001) that owns the inbox and the state folder.
RUN groupadd --system --gid 10001 ingest \
    && useradd --system --uid 10001 --gid ingest --create-home --home-dir /home/ingest \
        --shell /usr/sbin/nologin ingest \
    && mkdir -p /inbox /data \
    && chown ingest:ingest /inbox /data

ENV INGEST_INBOX=/inbox \
    INGEST_DATA_DIR=/data

USER ingest:ingest

CMD ["ingest", "--help"]
