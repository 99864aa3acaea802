# syntax=docker/dockerfile:1
# Multi-stage: a static xdrlinkd (pure Go, SQLite included) on an empty base,
# running as an unprivileged user, with a HEALTHCHECK on the gRPC health
# service. deploy/dockerfile_test.go builds the binary with this file's build
# command and checks the rest against xdrlinkd's commands and flags.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO_ENABLED=0: no libc, so the binary runs on scratch.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/xdrlinkd ./cmd/xdrlinkd \
 && mkdir -p /out/data /out/tmp

FROM scratch
# CA roots for TLS to Azure, the OIDC issuer and PostgreSQL.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/xdrlinkd /xdrlinkd
# Fails the build if the binary cannot start on the empty base (e.g. it was
# linked against a libc the base does not have).
RUN ["/xdrlinkd", "--help"]
COPY --from=build --chown=65532:65532 /out/data /data
# Go's os.TempDir; scratch has none. On Kubernetes with a read-only root
# file system, the chart mounts an emptyDir here.
COPY --from=build --chown=65532:65532 /out/tmp /tmp
# Numeric: scratch has no /etc/passwd, and Kubernetes' runAsNonRoot can only
# check a numeric user.
USER 65532:65532
ENV XDRLINK_DB=/data/xdrlink.db \
    XDRLINK_GRPC_ADDR=0.0.0.0:9090 \
    XDRLINK_HTTP_ADDR=0.0.0.0:8080
VOLUME /data
EXPOSE 9090 8080
# With TLS (XDRLINK_TLS_CERT_FILE and XDRLINK_TLS_KEY_FILE set, e.g. from a
# mounted secret) the check dials TLS too: `health` takes the same
# XDRLINK_TLS_CERT_FILE and accepts the server only if it presents that
# certificate.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s CMD ["/xdrlinkd", "health", "--grpc-addr", "127.0.0.1:9090"]
ENTRYPOINT ["/xdrlinkd"]
# The ports must be reachable from outside the container, so it listens on
# 0.0.0.0, and so it requires authentication: OIDC tokens (XDRLINK_OIDC_ISSUER,
# XDRLINK_OIDC_AUDIENCE), API keys (the first made with
# `xdrlinkd create-api-key`) or client certificates. It runs against real
# Azure (XDRLINK_AZURE_CONFIG, XDRLINK_SECRET_KEY_FILE); without them serve
# refuses to start, since sandbox mode is never for a network. To try the
# sandbox in a container anyway, on a port published to the host's loopback
# only: `docker run -p 127.0.0.1:8080:8080 IMAGE serve --auth=required
# --allow-unauthenticated-network`.
CMD ["serve", "--auth=required"]
