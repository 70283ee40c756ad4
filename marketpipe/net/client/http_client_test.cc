// HttpClient behaviour that needs no socket: option defaults and requests refused before any I/O.
// Everything that talks to a server is in http_client_integration_test.cc.
#include "marketpipe/net/client/http_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "absl/status/status.h"
#include "testing/async_test.h"
#include "testing/environment.h"

namespace marketpipe::net {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

HttpRequest Request(std::string scheme, std::string target = "/") {
  HttpRequest r;
  r.scheme = std::move(scheme);
  r.host = "127.0.0.1";
  r.port = 9;  // discard: never contacted, every request below is refused first
  r.target = std::move(target);
  return r;
}

class HttpClientTest : public ::mptest::AsyncTest {};

TEST_F(HttpClientTest, OptionsDefaultToTheDocumentedValues) {
  const HttpClient::Options o;
  EXPECT_EQ(o.connect_timeout, 10s);
  EXPECT_EQ(o.read_timeout, 30s);
  EXPECT_EQ(o.request_timeout, 120s);
  // A full Alpaca page (10,000 bars, ~1.3 MB) with headroom; not the 64 MiB it used to be.
  EXPECT_EQ(o.max_response_bytes, 8u * 1024 * 1024);
  EXPECT_GT(o.max_idle_connections_per_host, 0u);
  EXPECT_TRUE(o.verify_peer);
  EXPECT_FALSE(o.ca_file.has_value());
  EXPECT_FALSE(o.user_agent.empty());
}

TEST_F(HttpClientTest, UnsupportedSchemeIsInvalidArgument) {
  HttpClient client(io(), time());
  auto r = RunAsync(client.Send(Request("ftp")));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("ftp://127.0.0.1:9/"));
  EXPECT_EQ(client.connections_opened(), 0u);
}

TEST_F(HttpClientTest, HeaderValueWithLineBreakIsRejectedWithoutEchoingTheValue) {
  HttpClient client(io(), time());
  HttpRequest req = Request("http");
  req.headers.Add("APCA-API-SECRET-KEY", "s3cret\r\nX-Injected: 1");
  auto r = RunAsync(client.Send(req));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("APCA-API-SECRET-KEY"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("s3cret")));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("X-Injected")));
}

TEST_F(HttpClientTest, TargetWithoutLeadingSlashOrWithSpaceIsRejected) {
  HttpClient client(io(), time());
  EXPECT_EQ(RunAsync(client.Send(Request("http", "v2/bars"))).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RunAsync(client.Send(Request("http", "/a b HTTP/1.1\r\nX: y"))).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(HttpClientTest, UnreadableCaFileFailsHttpsRequestsNamingTheFile) {
  HttpClient::Options options;
  options.ca_file = mptest::CaseTempDir() + "/missing-ca.pem";
  HttpClient client(io(), time(), options);
  auto r = RunAsync(client.Send(Request("https")));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("missing-ca.pem"));
  EXPECT_THAT(r.status().message(), HasSubstr("https://127.0.0.1:9/"));
}

}  // namespace
}  // namespace marketpipe::net
