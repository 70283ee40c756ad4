#include "marketpipe/metrics/metrics_server.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "marketpipe/metrics/registry.h"
#include "marketpipe/net/server/test_client.h"

namespace marketpipe::metrics {
namespace {

using ::marketpipe::net::testclient::Client;
using ::marketpipe::net::testclient::Get;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class MetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.GetCounter("marketpipe_bars_stored_total", "Bars stored.").Increment(42);
    net::HttpServer::Options options;
    options.header_timeout = std::chrono::milliseconds(500);
    server_ = std::make_unique<MetricsServer>(registry_, options);
    ASSERT_TRUE(server_->Start().ok());
  }

  Registry registry_;
  std::unique_ptr<MetricsServer> server_;
};

TEST_F(MetricsServerTest, ScrapeIs200InThePrometheusTextFormat) {
  const std::string response = Get(server_->port(), "/metrics");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(response, HasSubstr("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
  EXPECT_THAT(response, HasSubstr("# TYPE marketpipe_bars_stored_total counter\n"
                                  "marketpipe_bars_stored_total 42\n"));
}

TEST_F(MetricsServerTest, UrlNamesTheLoopbackEndpoint) {
  EXPECT_EQ(server_->url(), "http://127.0.0.1:" + std::to_string(server_->port()) + "/metrics");
}

TEST_F(MetricsServerTest, CountsRequestsByStatusAndTimesThem) {
  Get(server_->port(), "/metrics");
  Get(server_->port(), "/other");
  Get(server_->port(), "/metrics", "POST");
  const std::string response = Get(server_->port(), "/metrics");
  EXPECT_THAT(response, HasSubstr("marketpipe_http_requests_total{code=\"200\"} 1\n"));
  EXPECT_THAT(response, HasSubstr("marketpipe_http_requests_total{code=\"404\"} 1\n"));
  EXPECT_THAT(response, HasSubstr("marketpipe_http_requests_total{code=\"405\"} 1\n"));
  EXPECT_THAT(response,
              HasSubstr("marketpipe_http_request_duration_seconds_count{code=\"200\"} 1\n"));
}

TEST_F(MetricsServerTest, OtherPathIs404AndOtherMethodIs405) {
  EXPECT_THAT(Get(server_->port(), "/"), StartsWith("HTTP/1.1 404 "));
  EXPECT_THAT(Get(server_->port(), "/metrics/"), StartsWith("HTTP/1.1 404 "));
  EXPECT_THAT(Get(server_->port(), "/metrics", "DELETE"), StartsWith("HTTP/1.1 405 "));
}

TEST_F(MetricsServerTest, MalformedAndOversizedRequestsAre400) {
  {
    Client client(server_->port());
    client.Send("GET /metrics HTTP/9.9.9\r\n\r\n");
    EXPECT_THAT(client.ReadToEnd(), StartsWith("HTTP/1.1 400 "));
  }
  Client client(server_->port());
  client.Send("GET /metrics HTTP/1.1\r\nCookie: " + std::string(64 * 1024, 'x') + "\r\n\r\n");
  EXPECT_THAT(client.ReadToEnd(), StartsWith("HTTP/1.1 400 "));
  const std::string metrics = Get(server_->port(), "/metrics");
  EXPECT_THAT(metrics, HasSubstr("marketpipe_http_requests_total{code=\"400\"} 2\n"));
}

TEST_F(MetricsServerTest, SlowClientDoesNotBlockScrapes) {
  Client slow(server_->port());
  ASSERT_TRUE(slow.Send("GET /metr"));
  EXPECT_THAT(Get(server_->port(), "/metrics"), StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(slow.ReadToEnd(), "");  // cut off at the header deadline
}

TEST_F(MetricsServerTest, FiftyConcurrentScrapesAllSucceed) {
  constexpr int kScrapes = 50;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kScrapes; ++i) clients.push_back(std::make_unique<Client>(server_->port()));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kScrapes; ++i) {
    threads.emplace_back([&, i] {
      clients[i]->Send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      const std::string response = clients[i]->ReadToEnd();
      if (absl::StartsWith(response, "HTTP/1.1 200 OK\r\n") &&
          absl::StrContains(response, "marketpipe_bars_stored_total 42\n")) {
        ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kScrapes);
}

}  // namespace
}  // namespace marketpipe::metrics
