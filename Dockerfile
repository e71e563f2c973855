# devpulse in a container. DuckDB's Go bindings need cgo, so build on glibc and run on a
# small glibc base, as the non-root user of distroless (uid 65532).
#
#   docker build -t devpulse:0.1.0 \
#     --build-arg VERSION=0.1.0 --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) .
#   docker run -v devpulse-data:/var/lib/devpulse -v $PWD/devpulse.yaml:/etc/devpulse/devpulse.yaml:ro \
#     -e GITLAB_TOKEN -e DEVPULSE_PRIVACY_SECRET -p 9090:9090 devpulse:0.1.0
#
# The default command is the scheduled service listening on :9090 (/healthz, /readyz,
# /metrics, the live report at /); the DuckDB file belongs in the /var/lib/devpulse volume
# (set warehouse.path: /var/lib/devpulse/devpulse.duckdb). Not built in this repository's CI.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
RUN CGO_ENABLED=1 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/devpulse/devpulse/internal/version.Version=${VERSION} -X github.com/devpulse/devpulse/internal/version.Commit=${COMMIT} -X github.com/devpulse/devpulse/internal/version.Date=${DATE}" \
      -o /out/devpulse ./cmd/devpulse \
 && mkdir -p /out/data

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="devpulse" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/devpulse/devpulse"
COPY --from=build /out/devpulse /usr/local/bin/devpulse
COPY --from=build --chown=65532:65532 /out/data /var/lib/devpulse
USER 65532:65532
WORKDIR /var/lib/devpulse
VOLUME ["/var/lib/devpulse"]
EXPOSE 9090
# distroless has no shell or curl: the binary probes itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/devpulse", "healthcheck", "--url", "http://127.0.0.1:9090/healthz"]
ENTRYPOINT ["/usr/local/bin/devpulse"]
CMD ["schedule", "--config", "/etc/devpulse/devpulse.yaml", "--listen", "0.0.0.0:9090"]
