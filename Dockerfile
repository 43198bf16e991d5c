# syncer: the production image. `syncer daemon` by default: scheduled syncs, the status
# page at / and /healthz /readyz /metrics /status on port 9187, the config read from
# /etc/syncer/syncer.yaml (mount it read-only), everything syncer writes (a SQLite store,
# git mirrors) in the volume /var/lib/syncer.
#
#   docker build -t syncer .
#   docker run -v $PWD/syncer.yaml:/etc/syncer/syncer.yaml:ro -v syncer-state:/var/lib/syncer \
#       -e INTERCOM_TOKEN -p 9187:9187 syncer
#   docker run ... syncer sync --dry-run      # any other command
#   docker run --rm --entrypoint cat syncer /usr/share/syncer/example.yaml > syncer.yaml
#
# Stage 1 builds a wheel of syncer and its dependencies into a virtualenv; stage 2 is
# the slim runtime with git (the git connector runs it) and no compilers.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/syncer
COPY pyproject.toml README.md ./
COPY syncer ./syncer
COPY connectors ./connectors
COPY migrations ./migrations
COPY config/example.yaml ./config/example.yaml
# The project's own dependency bounds live in pyproject.toml; pip resolves them here once.
# hadolint ignore=DL3013
RUN /opt/syncer/bin/pip install --upgrade pip \
    && /opt/syncer/bin/pip install ".[postgres]"

FROM python:${PYTHON_VERSION}-slim AS runtime
# Debian's git and CA bundle: take the security updates of the base image's release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 syncer \
    && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/syncer syncer \
    && mkdir -p /etc/syncer /var/lib/syncer /usr/share/syncer \
    && chown 10001:10001 /var/lib/syncer
COPY --from=build /opt/syncer /opt/syncer
# Every key, commented: the starting point of a syncer.yaml (see the docker run above).
COPY --from=build /src/config/example.yaml /usr/share/syncer/example.yaml
# SYNCER_STATE_DIR: a relative SQLite path (sqlite:///syncer.db) and the git mirrors
# land in the writable volume, not beside the read-only config. A SQLite store there
# is created and migrated when the daemon starts; Postgres is migrated with --migrate.
ENV PATH=/opt/syncer/bin:$PATH \
    SYNCER_CONFIG=/etc/syncer/syncer.yaml \
    SYNCER_STATE_DIR=/var/lib/syncer \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
WORKDIR /var/lib/syncer
# Owned by 10001 in the image, so a named volume mounted here starts with that owner.
VOLUME ["/var/lib/syncer"]
EXPOSE 9187
# /healthz answers while the process lives; a daemon.port other than 9187 needs this too.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9187/healthz', timeout=4)"]
# tini as PID 1: passes SIGTERM/SIGINT/SIGHUP on to syncer and reaps git's children.
ENTRYPOINT ["tini", "--", "syncer"]
CMD ["daemon"]
