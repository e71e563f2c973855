# devpulse in a container. DuckDB's Go bindings need cgo, so build on glibc and run on a
# small glibc base. Build: docker build -t devpulse . (not built in this repository's CI).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X github.com/devpulse/devpulse/internal/version.Version=${VERSION}" -o /out/devpulse ./cmd/devpulse

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/devpulse /usr/local/bin/devpulse
WORKDIR /var/lib/devpulse
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/devpulse"]
CMD ["schedule", "--config", "/etc/devpulse/devpulse.yaml"]
