#ifndef MARKETPIPE_METRICS_METRICS_SERVER_H_
#define MARKETPIPE_METRICS_METRICS_SERVER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "marketpipe/metrics/registry.h"
#include "marketpipe/net/server/http_server.h"

namespace marketpipe::metrics {

// Serves a Registry in the Prometheus text format at GET /metrics (404 elsewhere, 405 for
// other methods, 400 for oversized or malformed requests: see net::HttpServer), and counts its
// own traffic into the same registry:
//   marketpipe_http_requests_total{code="200"}        requests answered, by status
//   marketpipe_http_request_duration_seconds          latency histogram, by status
//
//   Registry registry;
//   MetricsServer server(registry, {.host = "127.0.0.1", .port = 9464});
//   if (absl::Status s = server.Start(); !s.ok()) ...;
//
// `registry` must outlive the server. Bound to 127.0.0.1 unless options.host says otherwise.
class MetricsServer {
 public:
  MetricsServer(Registry& registry, net::HttpServer::Options options);

  // See net::HttpServer::Start.
  absl::Status Start() { return server_.Start(); }
  void Stop() { server_.Stop(); }
  uint16_t port() const { return server_.port(); }
  // "http://host:port/metrics"
  std::string url() const { return server_.base_url() + "/metrics"; }

 private:
  static net::HttpServer::Options WithRequestMetrics(Registry& registry,
                                                     net::HttpServer::Options options);

  Registry& registry_;
  net::HttpServer server_;
};

}  // namespace marketpipe::metrics

#endif  // MARKETPIPE_METRICS_METRICS_SERVER_H_
