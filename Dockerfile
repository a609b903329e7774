# syntax=docker/dockerfile:1
#
# Ostrog in a container: a Rust builder, then a slim Debian runtime holding
# only the binary and CA certificates.
#
#   docker build -t ostrog .
#   docker network create ostrog          # shared with the clamav container
#   docker run -d --name ostrog --network ostrog -p 127.0.0.1:8080:8080 \
#       -v ostrog-data:/var/lib/ostrog --stop-timeout 30 \
#       -e OSTROG_PUBLIC_URL=https://chat.example.com \
#       -e OSTROG_SCANNER__TCP=clamav:3310 ostrog
#
# Virus scanning: clamd is not in this image. It runs as its own container
# (e.g. the clamav/clamav image) or on the host, and Ostrog reaches it over
# TCP: OSTROG_SCANNER__TCP=clamav:3310, where "clamav" is its name on a
# private container network. clamd's TCP port has no authentication: never
# publish it. Without a reachable clamd, uploads are refused and chat goes on.
# docs/operations.md has a compose file.
#
# Settings come from OSTROG_* variables (`__` between levels, e.g.
# OSTROG_AUTH__SESSION_IDLE_MINUTES=15) or from a file mounted into the
# container and named by OSTROG_CONFIG.

FROM rust:1-bookworm AS build
WORKDIR /src
# Only what the build reads: the workspace, its crates and the web app that
# is embedded in the binary.
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY web/public ./web/public
# The cache mounts keep downloaded crates and compiled dependencies between
# builds (BuildKit), so a change to Ostrog's code rebuilds only Ostrog.
# target/ lives in the cache, so the binary is copied out of it.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p ostrog \
    && cp target/release/ostrog /usr/local/bin/ostrog

FROM debian:bookworm-slim
# CA certificates for outgoing TLS (messenger APIs, PostgreSQL with TLS).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# A user of its own, no login, a fixed UID so volume permissions are
# predictable: chown 10001:10001 a bind-mounted data folder.
RUN groupadd --system --gid 10001 ostrog \
    && useradd --system --uid 10001 --gid ostrog --home-dir /var/lib/ostrog \
        --no-create-home --shell /usr/sbin/nologin ostrog \
    && install -d -o ostrog -g ostrog -m 0700 /var/lib/ostrog
COPY --from=build /usr/local/bin/ostrog /usr/bin/ostrog

# The databases (SQLite), the key store, master.key and the stored files.
# A named volume takes this folder's owner and mode (ostrog, 0700).
# master.key is created here on first start unless OSTROG_MASTER_KEY is set:
# keep a copy of it apart from every backup of this volume.
VOLUME /var/lib/ostrog
ENV OSTROG_DATA_DIR=/var/lib/ostrog \
    OSTROG_LISTEN=0.0.0.0:8080
WORKDIR /var/lib/ostrog
USER ostrog:ostrog
EXPOSE 8080

# On SIGTERM Ostrog stops accepting, tells WebSocket clients to reconnect and
# commits messages in flight, within [limits] shutdown_seconds (10 s). Docker
# waits 10 s before SIGKILL by default: give it more (--stop-timeout 30, or
# stop_grace_period: 30s in compose).
STOPSIGNAL SIGTERM
# Health: GET /healthz (process up) and GET /readyz (database reachable, and
# "scanner": ok|unavailable|disabled); the image has no curl, so probe from
# the orchestrator or the proxy.
ENTRYPOINT ["/usr/bin/ostrog"]
CMD ["serve"]
