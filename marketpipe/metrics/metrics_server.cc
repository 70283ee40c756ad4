#include "marketpipe/metrics/metrics_server.h"

#include <chrono>
#include <string>
#include <utility>

namespace marketpipe::metrics {

net::HttpServer::Options MetricsServer::WithRequestMetrics(Registry& registry,
                                                           net::HttpServer::Options options) {
  auto previous = std::move(options.on_request);
  options.on_request = [&registry, previous = std::move(previous)](const net::RequestLog& log) {
    const Labels labels = {{"code", std::to_string(log.status)}};
    registry
        .GetCounter("marketpipe_http_requests_total", "HTTP requests answered, by status.", labels)
        .Increment();
    registry
        .GetHistogram("marketpipe_http_request_duration_seconds",
                      "Time from a request's complete headers to its response written.", labels)
        .Observe(std::chrono::duration<double>(log.duration).count());
    if (previous) previous(log);
  };
  return options;
}

MetricsServer::MetricsServer(Registry& registry, net::HttpServer::Options options)
    : registry_(registry), server_(WithRequestMetrics(registry, std::move(options))) {
  server_.Handle("/metrics", {"GET"}, [this](const net::ServerRequest&) {
    net::ServerResponse response;
    response.content_type = std::string(Registry::kContentType);
    response.body = registry_.Render();
    return response;
  });
}

}  // namespace marketpipe::metrics
