#include "marketpipe/net/server/http_server.h"

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <cerrno>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "marketpipe/net/server/test_client.h"

namespace marketpipe::net {
namespace {

using ::marketpipe::net::testclient::Client;
using ::marketpipe::net::testclient::Get;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Default options with one change (designated initializers would trip
// -Wmissing-field-initializers).
template <typename F>
HttpServer::Options Opts(F&& change) {
  HttpServer::Options options;
  change(options);
  return options;
}

ServerResponse Body(std::string body) {
  ServerResponse response;
  response.body = std::move(body);
  return response;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServer::Options options = {},
                   const std::function<void(HttpServer&)>& more_routes = nullptr) {
    options.on_request = [this](const RequestLog& log) {
      std::lock_guard<std::mutex> lock(mu_);
      logs_.push_back(log);
    };
    server_ = std::make_unique<HttpServer>(std::move(options));
    server_->Handle("/metrics", {"GET"}, [](const ServerRequest& request) {
      return Body(absl::StrCat("scraped ", request.target, "\n"));
    });
    server_->Handle("/boom", {"GET"}, [](const ServerRequest&) -> ServerResponse {
      throw std::runtime_error("handler bug");
    });
    server_->Handle("/echo", {"POST", "PUT"},
                    [](const ServerRequest& request) { return Body(request.body); });
    if (more_routes) more_routes(*server_);
    ASSERT_TRUE(server_->Start().ok());
  }

  std::vector<RequestLog> logs() {
    std::lock_guard<std::mutex> lock(mu_);
    return logs_;
  }

  // Declared first so the server (and its callbacks) goes before them.
  std::mutex mu_;
  std::vector<RequestLog> logs_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, PortZeroBindsAFreePortAndReportsIt) {
  StartServer();
  EXPECT_NE(server_->port(), 0);
  EXPECT_EQ(server_->base_url(), absl::StrCat("http://127.0.0.1:", server_->port()));
}

TEST_F(HttpServerTest, RoutedGetIs200WithTheHandlersBody) {
  StartServer();
  const std::string response = Get(server_->port(), "/metrics?x=1");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(response, HasSubstr("Content-Type: text/plain; charset=utf-8\r\n"));
  EXPECT_THAT(response, HasSubstr("\r\n\r\nscraped /metrics?x=1\n"));
}

TEST_F(HttpServerTest, UnknownPathIs404) {
  StartServer();
  EXPECT_THAT(Get(server_->port(), "/nope"), StartsWith("HTTP/1.1 404 Not Found\r\n"));
}

TEST_F(HttpServerTest, OtherMethodIs405NamingTheAllowedOnes) {
  StartServer();
  const std::string response = Get(server_->port(), "/metrics", "POST");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_THAT(response, HasSubstr("Allow: GET\r\n"));
  EXPECT_THAT(Get(server_->port(), "/echo", "DELETE"), HasSubstr("Allow: POST, PUT\r\n"));
}

TEST_F(HttpServerTest, BodyReachesTheHandler) {
  StartServer();
  Client client(server_->port());
  client.Send(
      "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
  EXPECT_THAT(client.ReadToEnd(), HasSubstr("\r\n\r\nhello"));
}

TEST_F(HttpServerTest, MalformedRequestIs400AndCloses) {
  StartServer();
  Client client(server_->port());
  client.Send("THIS IS NOT HTTP\r\n\r\n");
  const std::string response = client.ReadToEnd();
  EXPECT_THAT(response, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(response, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(response, HasSubstr("malformed request"));
}

TEST_F(HttpServerTest, OversizedHeadersAre400) {
  StartServer(Opts([](HttpServer::Options& o) { o.max_header_bytes = 1024; }));
  Client client(server_->port());
  client.Send(absl::StrCat("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ", std::string(4096, 'a'),
                           "\r\n\r\n"));
  const std::string response = client.ReadToEnd();
  EXPECT_THAT(response, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(response, HasSubstr("request headers too large"));
}

TEST_F(HttpServerTest, OversizedBodyIs400) {
  StartServer(Opts([](HttpServer::Options& o) { o.max_body_bytes = 10; }));
  Client client(server_->port());
  client.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world");
  const std::string response = client.ReadToEnd();
  EXPECT_THAT(response, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(response, HasSubstr("request body too large"));
}

TEST_F(HttpServerTest, HandlerThatThrowsIs500AndTheServerKeepsServing) {
  StartServer();
  EXPECT_THAT(Get(server_->port(), "/boom"), StartsWith("HTTP/1.1 500 "));
  EXPECT_THAT(Get(server_->port(), "/metrics"), StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  StartServer();
  Client client(server_->port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.Send(absl::StrCat("GET /metrics?i=", i, " HTTP/1.1\r\nHost: x\r\n\r\n")));
    const std::string response = client.ReadResponse();
    EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(response, HasSubstr(absl::StrCat("scraped /metrics?i=", i)));
  }
}

TEST_F(HttpServerTest, SlowClientDoesNotBlockOthersAndIsDisconnectedAtTheHeaderDeadline) {
  StartServer(
      Opts([](HttpServer::Options& o) { o.header_timeout = std::chrono::milliseconds(300); }));
  Client slow(server_->port());
  ASSERT_TRUE(slow.connected());
  ASSERT_TRUE(slow.Send("GET /metrics HTTP/1.1\r\nHo"));  // and never the rest
  // While the slow client holds its connection, others are served.
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(Get(server_->port(), "/metrics"), StartsWith("HTTP/1.1 200 OK\r\n"));
  }
  // The slow client is cut off without a response once its header deadline passes.
  EXPECT_EQ(slow.ReadToEnd(), "");
}

TEST_F(HttpServerTest, SlowBodyIsDisconnectedAtTheBodyDeadline) {
  StartServer(
      Opts([](HttpServer::Options& o) { o.body_timeout = std::chrono::milliseconds(300); }));
  Client slow(server_->port());
  ASSERT_TRUE(slow.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"));
  EXPECT_EQ(slow.ReadToEnd(), "");
}

TEST_F(HttpServerTest, FiftyConcurrentClientsAreAllServed) {
  StartServer();
  constexpr int kClients = 50;
  // Connect everyone first so the requests really overlap.
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<Client>(server_->port()));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      clients[i]->Send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      if (absl::StartsWith(clients[i]->ReadToEnd(), "HTTP/1.1 200 OK\r\n")) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients);
}

TEST_F(HttpServerTest, ConnectionsBeyondTheLimitAreClosed) {
  StartServer(Opts([](HttpServer::Options& o) { o.max_connections = 1; }));
  Client first(server_->port());
  ASSERT_TRUE(first.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_THAT(first.ReadResponse(), StartsWith("HTTP/1.1 200 OK\r\n"));
  Client second(server_->port());
  second.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(second.ReadToEnd(), "");
}

TEST_F(HttpServerTest, ReportsEveryResponseIncludingItsOwnErrors) {
  StartServer();
  Get(server_->port(), "/metrics");
  Get(server_->port(), "/nope");
  Get(server_->port(), "/metrics", "DELETE");
  const std::vector<RequestLog> seen = logs();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].status, 200);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].path, "/metrics");
  EXPECT_EQ(seen[1].status, 404);
  EXPECT_EQ(seen[2].status, 405);
}

TEST_F(HttpServerTest, UnroutedHandlerReceivesUnknownPaths) {
  server_ = std::make_unique<HttpServer>();
  server_->HandleUnrouted([](ServerRequest request) -> boost::asio::awaitable<ServerResponse> {
    ServerResponse response;
    response.status = 418;
    response.body = request.path;
    co_return response;
  });
  ASSERT_TRUE(server_->Start().ok());
  const std::string response = Get(server_->port(), "/anything");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 418 "));
  EXPECT_THAT(response, HasSubstr("\r\n\r\n/anything"));
}

TEST_F(HttpServerTest, StopClosesOpenConnections) {
  StartServer();
  Client idle(server_->port());
  ASSERT_TRUE(idle.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_THAT(idle.ReadResponse(), StartsWith("HTTP/1.1 200 OK\r\n"));
  server_->Stop();
  EXPECT_EQ(idle.ReadToEnd(), "");
}

// A handler whose response writes itself: the normal bytes in 7-byte steps, 1 ms apart.
ServerResponse Dripped(std::string body) {
  ServerResponse normal = Body(std::move(body));
  ServerResponse response = normal;
  response.custom_write = [normal](ServerConnection& conn) -> boost::asio::awaitable<bool> {
    const std::string wire = conn.Serialize(normal);
    for (size_t at = 0; at < wire.size(); at += 7) {
      if (!co_await conn.Write(std::string_view(wire).substr(at, 7))) co_return false;
      if (!co_await conn.Sleep(std::chrono::milliseconds(1))) co_return false;
    }
    co_return conn.keep_alive();
  };
  return response;
}

TEST_F(HttpServerTest, CustomWriteSendsItsOwnBytesThenTheConnectionServesTheNext) {
  StartServer({}, [](HttpServer& server) {
    server.Handle("/drip", {"GET"}, [](const ServerRequest&) { return Dripped("dripped\n"); });
  });
  Client client(server_->port());

  ASSERT_TRUE(client.Send("GET /drip HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string dripped = client.ReadResponse();
  ASSERT_TRUE(client.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string next = client.ReadResponse();

  EXPECT_THAT(dripped, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(dripped, HasSubstr("Content-Length: 8\r\n"));
  EXPECT_THAT(dripped, HasSubstr("\r\n\r\ndripped\n"));
  EXPECT_THAT(next, StartsWith("HTTP/1.1 200 OK\r\n"));
  // The drip's log entry comes before the next request is read; the second one only after its
  // response is written, which may be after the client has read it.
  const std::vector<RequestLog> seen = logs();
  ASSERT_GE(seen.size(), 1u);
  EXPECT_EQ(seen[0].path, "/drip");
  EXPECT_EQ(seen[0].status, 200);
}

TEST_F(HttpServerTest, CustomWriteCanResetTheConnection) {
  StartServer({}, [](HttpServer& server) {
    server.Handle("/reset", {"GET"}, [](const ServerRequest&) {
      ServerResponse response;
      response.custom_write = [](ServerConnection& conn) -> boost::asio::awaitable<bool> {
        conn.Close(/*reset=*/true);
        co_return false;
      };
      return response;
    });
  });
  Client client(server_->port());
  ASSERT_TRUE(client.Send("GET /reset HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string received = client.ReadToEnd();
  const int error = errno;
  EXPECT_EQ(received, "");
  EXPECT_EQ(error, ECONNRESET) << "an RST, not an orderly close";
}

TEST_F(HttpServerTest, StopEndsACustomWriteThatIsSleepingOrDraining) {
  std::atomic<int> waiting{0};
  StartServer({}, [&waiting](HttpServer& server) {
    server.Handle("/sleep", {"GET"}, [&waiting](const ServerRequest&) {
      ServerResponse response;
      response.custom_write = [&waiting](ServerConnection& conn) -> boost::asio::awaitable<bool> {
        ++waiting;
        co_return co_await conn.Sleep(std::chrono::hours(1));
      };
      return response;
    });
    server.Handle("/drain", {"GET"}, [&waiting](const ServerRequest&) {
      ServerResponse response;
      response.custom_write = [&waiting](ServerConnection& conn) -> boost::asio::awaitable<bool> {
        ++waiting;
        co_await conn.DrainUntilClosed();
        co_return false;
      };
      return response;
    });
  });
  Client sleeping(server_->port());
  Client draining(server_->port());
  ASSERT_TRUE(sleeping.Send("GET /sleep HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(draining.Send("GET /drain HTTP/1.1\r\nHost: x\r\n\r\n"));
  while (waiting < 2) std::this_thread::yield();

  server_->Stop();  // returns: neither wait holds the I/O thread

  EXPECT_EQ(sleeping.ReadToEnd(), "");
  EXPECT_EQ(draining.ReadToEnd(), "");
}

TEST_F(HttpServerTest, CountsAcceptedConnections) {
  StartServer();
  Get(server_->port(), "/metrics");
  Get(server_->port(), "/metrics");
  EXPECT_EQ(server_->connections_accepted(), 2u);
}

TEST(HttpServerStartTest, UnusableTlsCertificateIsInvalidArgument) {
  HttpServer server(Opts([&](HttpServer::Options& o) {
    o.tls = HttpServer::Options::Tls{"not a certificate", "not a key"};
  }));
  const absl::Status status = server.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("TLS certificate"));
}

TEST(HttpServerStartTest, HostThatIsNotAnAddressIsInvalidArgument) {
  HttpServer server(Opts([&](HttpServer::Options& o) { o.host = "localhost:80"; }));
  const absl::Status status = server.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("localhost:80"));
}

TEST(HttpServerStartTest, PortInUseIsUnavailable) {
  HttpServer first;
  ASSERT_TRUE(first.Start().ok());
  HttpServer second(Opts([&](HttpServer::Options& o) { o.port = first.port(); }));
  EXPECT_EQ(second.Start().code(), absl::StatusCode::kUnavailable);
}

TEST(HttpServerStartTest, StartingTwiceIsFailedPrecondition) {
  HttpServer server;
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(server.Start().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace marketpipe::net
