# The Debian packages Portcullis needs on a machine, for CI (.ci/run) and the local stack
# (scripts/stack.sh): one list, so the two cannot drift apart.
#   redis-server     the store and job queue
#   redis-sentinel   Redis high availability: the tests' failover set (primary, replica, 3 sentinels)
#   docker-registry  the reference Distribution registry (internal + demo upstream)
#   nginx-light      the reverse proxy through which upstreams are reached
#   skopeo           independent digest checks in tests; the benchmark's comparison
#   podman           the Docker-compatible engine API for the engine mover's tests
#   openssl          the tests make their TLS certificates with it
#   prometheus       promtool checks the metrics and alert rules; a real Prometheus scrapes the service in a test
#   rpm              rpm and rpmbuild make the real rpmdb.sqlite the RPM scanner tests read
#   zstd             the zstd-layer tests compress layers with the real tool
#   golang-go        the Go-binary scanner tests build a real Go program and check what the
#                    scanner reads against `go version -m`
#   chromium         the console's end-to-end tests drive Debian's headless Chromium with playwright-core
PORTCULLIS_DEBIAN_PACKAGES=(redis-server redis-sentinel docker-registry nginx-light skopeo podman openssl ca-certificates prometheus golang-go zstd rpm chromium)
