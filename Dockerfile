# syncer: a slim image running as a non-root user with `syncer` as its entrypoint.
# Build: docker build -t syncer .    Run: docker run -v $PWD/syncer.yaml:/etc/syncer/syncer.yaml syncer sync
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY syncer ./syncer
COPY connectors ./connectors
COPY migrations ./migrations
RUN pip install --no-cache-dir --prefix=/install ".[postgres]"

FROM python:3.11-slim
# git is what the git connector runs; ca-certificates for HTTPS to Intercom and sources.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 syncer \
    && mkdir -p /etc/syncer /var/lib/syncer \
    && chown syncer /var/lib/syncer
COPY --from=build /install /usr/local
USER syncer
WORKDIR /var/lib/syncer
ENV SYNCER_CONFIG=/etc/syncer/syncer.yaml \
    PYTHONUNBUFFERED=1
ENTRYPOINT ["syncer"]
CMD ["sync"]
