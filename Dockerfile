# syntax=docker/dockerfile:1
# Build: docker build -t cachet .
# Run:   docker run -p 6379:6379 -p 9121:9121 -v ./cachet.conf:/etc/cachet/cachet.conf:ro cachet
# The conf file is a volume; the image's default one listens on every address with the admin port
# on 9121, which HEALTHCHECK probes. Snapshots go to the /data volume (the working directory, so a
# conf file that keeps Redis's `dir ./` writes there too): the rest of the image is not writable by
# the cachet user.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin cachet \
 && strip target/release/cachet

FROM debian:bookworm-slim
# curl for HEALTHCHECK; no shell tools beyond the base image's.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin cachet \
 && mkdir -p /etc/cachet /data \
 && chown 10001:10001 /data \
 && printf 'bind 0.0.0.0\nport 6379\nprotected-mode no\nadmin-port 9121\nadmin-bind 0.0.0.0\nlog-format json\ndir /data\n' > /etc/cachet/cachet.conf
COPY --from=build /src/target/release/cachet /usr/local/bin/cachet
USER 10001:10001
WORKDIR /data
EXPOSE 6379 9121
VOLUME ["/etc/cachet", "/data"]
HEALTHCHECK --interval=10s --timeout=2s --start-period=5s --retries=3 \
  CMD curl -fsS http://127.0.0.1:9121/health || exit 1
ENTRYPOINT ["/usr/local/bin/cachet"]
CMD ["/etc/cachet/cachet.conf"]
