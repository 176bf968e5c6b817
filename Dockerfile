# syntax=docker/dockerfile:1

# certcentral-exporter in a small, non-root container.
#
#   docker build -t certcentral-exporter .
#   docker run --rm certcentral-exporter --help
#   docker run -d -p 10056:10056 \
#     -v /etc/certcentral-exporter/api-key:/run/secrets/certcentral-api-key:ro \
#     -v certcentral-state:/var/lib/certcentral-exporter \
#     certcentral-exporter --certcentral.api-key-file=/run/secrets/certcentral-api-key \
#       --storage.path=/var/lib/certcentral-exporter
#
# The runtime image has no shell and no package manager: only the binary,
# glibc and the CA certificates it needs to reach CertCentral over TLS.

FROM docker.io/library/rust:1-bookworm AS build
WORKDIR /src
COPY . .
# The registry and the target directory are cached between builds; the
# binary is copied out of the cached target directory in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin certcentral-exporter \
    && install -D -m 0755 target/release/certcentral-exporter /out/certcentral-exporter \
    && install -d -m 0700 /out/state

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/certcentral-exporter /usr/local/bin/certcentral-exporter
# No state store unless asked: `$container` tells the exporter it runs in
# a container, where nothing is kept by default. To keep order details
# across restarts (a restart then costs the report pages, not every detail
# again), mount a volume here and pass
# `--storage.path=/var/lib/certcentral-exporter`; the directory belongs to
# the exporter's user, so a new named volume does too.
COPY --from=build --chown=65532:65532 /out/state /var/lib/certcentral-exporter
ENV container=oci
# distroless' "nonroot" user, by number so that Kubernetes' runAsNonRoot
# can check it.
USER 65532:65532
EXPOSE 10056
ENTRYPOINT ["/usr/local/bin/certcentral-exporter"]
