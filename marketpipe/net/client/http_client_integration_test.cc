// HttpClient against real loopback servers: LoopbackServer scripts the exact bytes (plain or
// TLS with a certificate made here), and mptest::FakeAlpacaServer speaks the bars API.
//
// Timeouts: while a Send talks to the network it holds a TimeSource::ExternalWait, so the
// virtual clock never auto-advances under it. Timeout cases therefore either advance the clock
// themselves at a known point of the conversation (the server posts the advance onto io()), or
// use a RealTimeSource with a 100 ms timeout and assert only that it fails, never how fast.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "marketpipe/net/client/http_client.h"
#include "marketpipe/net/client/loopback_server.h"
#include "marketpipe/time/time_source.h"
#include "testing/async_test.h"
#include "testing/environment.h"
#include "testing/fakes/fake_alpaca_server.h"

namespace marketpipe::net {
namespace {

using client_test::HttpResponseBytes;
using client_test::LoopbackServer;
using client_test::Peer;
using client_test::TestCertificate;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

HttpRequest Get(uint16_t port, std::string target = "/", std::string host = "127.0.0.1",
                std::string scheme = "http") {
  HttpRequest r;
  r.method = "GET";
  r.scheme = std::move(scheme);
  r.host = std::move(host);
  r.port = port;
  r.target = std::move(target);
  return r;
}

HttpRequest GetTls(uint16_t port, std::string target = "/", std::string host = "localhost") {
  return Get(port, std::move(target), std::move(host), "https");
}

std::string HostPort(uint16_t port) { return absl::StrCat("127.0.0.1:", port); }

// Reads one request and answers it with 200 and `body`.
LoopbackServer::Script Respond(std::string body, std::vector<std::string> headers = {}) {
  return [body = std::move(body), headers = std::move(headers)](Peer& p) {
    if (p.ReadRequest()) p.Write(HttpResponseBytes(200, body, headers));
  };
}

class HttpClientIntegrationTest : public ::mptest::AsyncTest {
 protected:
  // Called from a server thread: runs `fn` on the thread driving io() (the virtual clock belongs
  // to it) and waits until it has run. The wait is bounded so a client that already gave up
  // cannot wedge the server's shutdown; the case fails then anyway.
  void OnIoThread(std::function<void()> fn) {
    auto done = std::make_shared<std::promise<void>>();
    std::future<void> ran = done->get_future();
    boost::asio::post(io(), [fn = std::move(fn), done] {
      fn();
      done->set_value();
    });
    if (ran.wait_for(30s) != std::future_status::ready) {
      ADD_FAILURE() << "io() did not run a posted handler: was the client still waiting?";
    }
  }

  // A certificate for localhost and 127.0.0.1, and a CA file that trusts exactly it.
  TestCertificate cert_ = TestCertificate::Generate("localhost", {"DNS:localhost", "IP:127.0.0.1"});
  std::string ca_file_ = [this] {
    std::string path = mptest::CaseTempDir() + "/ca.pem";
    cert_.WritePem(path);
    return path;
  }();
};

// ---- Plain HTTP: requests and responses --------------------------------------------------------

TEST_F(HttpClientIntegrationTest, GetReturnsStatusReasonHeadersAndBody) {
  LoopbackServer server({Respond("hello", {"X-Request-Id: 42", "Content-Type: text/plain"})});
  HttpClient client(io(), time());
  HttpRequest req = Get(server.port(), "/v2/stocks/bars?symbols=AAPL");
  req.headers.Add("APCA-API-KEY-ID", "key-id");

  auto r = RunAsync(client.Send(req));

  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->reason, "OK");
  EXPECT_EQ(r->headers.Get("x-request-id"), "42");
  EXPECT_EQ(r->body, "hello");
  // Room for simdjson's padding: the body is parsed where it was received.
  EXPECT_GE(r->body.capacity(), r->body.size() + kResponseBodyPadding);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_THAT(requests[0].bytes, StartsWith("GET /v2/stocks/bars?symbols=AAPL HTTP/1.1\r\n"));
  EXPECT_THAT(requests[0].bytes,
              AllOf(HasSubstr(absl::StrCat("\r\nHost: ", HostPort(server.port()), "\r\n")),
                    HasSubstr("\r\nUser-Agent: marketpipe/1.0\r\n"),
                    HasSubstr("\r\nAPCA-API-KEY-ID: key-id\r\n")));
}

TEST_F(HttpClientIntegrationTest, PostSendsBodyWithContentLength) {
  LoopbackServer server({Respond("created")});
  HttpClient client(io(), time());
  HttpRequest req = Get(server.port(), "/orders");
  req.method = "POST";
  req.body = R"({"qty":1})";
  req.headers.Add("Content-Type", "application/json");

  auto r = RunAsync(client.Send(req));

  ASSERT_TRUE(r.ok()) << r.status();
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_THAT(requests[0].bytes, StartsWith("POST /orders HTTP/1.1\r\n"));
  EXPECT_THAT(requests[0].bytes, HasSubstr("\r\nContent-Length: 9\r\n"));
  EXPECT_THAT(requests[0].bytes, ::testing::EndsWith("\r\n\r\n{\"qty\":1}"));
}

TEST_F(HttpClientIntegrationTest, ChunkedBodyIsDecoded) {
  LoopbackServer server({[](Peer& p) {
    if (!p.ReadRequest()) return;
    p.Write(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  }});
  HttpClient client(io(), time());
  auto r = RunAsync(client.Send(Get(server.port())));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "hello world");
}

TEST_F(HttpClientIntegrationTest, BodyEndingAtConnectionCloseIsReadWholeAndNotPooled) {
  LoopbackServer server({[](Peer& p) {
    if (!p.ReadRequest()) return;
    p.Write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
    p.Close();
  }});
  HttpClient client(io(), time());
  auto r = RunAsync(client.Send(Get(server.port())));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "until the end");
  EXPECT_EQ(client.idle_connections(), 0u);
}

TEST_F(HttpClientIntegrationTest, HeadResponseHasNoBodyAndKeepsTheConnectionUsable) {
  LoopbackServer server({[](Peer& p) {
    if (!p.ReadRequest()) return;
    p.Write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");  // HEAD: no body follows
    if (!p.ReadRequest()) return;
    p.Write(HttpResponseBytes(200, "second"));
  }});
  HttpClient client(io(), time());
  HttpRequest head = Get(server.port());
  head.method = "HEAD";

  auto first = RunAsync(client.Send(head));
  auto second = RunAsync(client.Send(Get(server.port())));

  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->headers.Get("Content-Length"), "1000");
  EXPECT_EQ(first->body, "");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->body, "second");
  EXPECT_EQ(server.connections_accepted(), 1u);
}

// ---- Keep-alive and stale connections ---------------------------------------------------------

TEST_F(HttpClientIntegrationTest, KeepAliveSendsSecondRequestOnTheSameConnection) {
  LoopbackServer server({[](Peer& p) {
    for (const char* body : {"one", "two"}) {
      if (!p.ReadRequest()) return;
      p.Write(HttpResponseBytes(200, body));
    }
  }});
  HttpClient client(io(), time());

  auto first = RunAsync(client.Send(Get(server.port(), "/1")));
  auto second = RunAsync(client.Send(Get(server.port(), "/2")));

  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->body, "one");
  EXPECT_EQ(second->body, "two");
  EXPECT_EQ(server.connections_accepted(), 1u);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].connection, 0u);
  EXPECT_EQ(client.connections_opened(), 1u);
  EXPECT_EQ(client.idle_connections(), 1u);
}

TEST_F(HttpClientIntegrationTest, ConnectionCloseResponseIsNotReused) {
  LoopbackServer server({Respond("one", {"Connection: close"}), Respond("two")});
  HttpClient client(io(), time());

  auto first = RunAsync(client.Send(Get(server.port())));
  auto second = RunAsync(client.Send(Get(server.port())));

  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->body, "two");
  EXPECT_EQ(server.connections_accepted(), 2u);
}

TEST_F(HttpClientIntegrationTest, PoolingCanBeTurnedOff) {
  LoopbackServer server({Respond("one"), Respond("two")});
  HttpClient::Options options;
  options.max_idle_connections_per_host = 0;
  HttpClient client(io(), time(), options);

  ASSERT_TRUE(RunAsync(client.Send(Get(server.port()))).ok());
  ASSERT_TRUE(RunAsync(client.Send(Get(server.port()))).ok());

  EXPECT_EQ(server.connections_accepted(), 2u);
  EXPECT_EQ(client.idle_connections(), 0u);
}

TEST_F(HttpClientIntegrationTest, PooledConnectionIdleLongerThanIdleTimeoutIsNotReused) {
  LoopbackServer server({Respond("one"), Respond("two")});
  HttpClient::Options options;
  options.idle_timeout = 5s;
  HttpClient client(io(), time(), options);

  ASSERT_TRUE(RunAsync(client.Send(Get(server.port()))).ok());
  time().Advance(6s);
  auto second = RunAsync(client.Send(Get(server.port())));

  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->body, "two");
  EXPECT_EQ(server.connections_accepted(), 2u);
}

TEST_F(HttpClientIntegrationTest, IdleConnectionClosedByServerIsReplaced) {
  LoopbackServer server({[](Peer& p) {
                           if (p.ReadRequest()) p.Write(HttpResponseBytes(200, "one"));
                           p.Close();
                         },
                         Respond("two")});
  HttpClient client(io(), time());

  ASSERT_TRUE(RunAsync(client.Send(Get(server.port()))).ok());
  auto second = RunAsync(client.Send(Get(server.port())));

  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->body, "two");
  EXPECT_EQ(server.connections_accepted(), 2u);
}

// The race a pool cannot see coming: the server drops the kept-alive connection just as the
// next request arrives on it, having answered nothing.
TEST_F(HttpClientIntegrationTest, StaleConnectionIsRetriedOnceOnAFreshOneWhenNothingWasRead) {
  LoopbackServer server({[](Peer& p) {
                           if (p.ReadRequest()) p.Write(HttpResponseBytes(200, "one"));
                           if (p.ReadRequest()) p.Close();  // read, then hang up unanswered
                         },
                         Respond("two")});
  HttpClient client(io(), time());

  ASSERT_TRUE(RunAsync(client.Send(Get(server.port(), "/a"))).ok());
  auto second = RunAsync(client.Send(Get(server.port(), "/b")));

  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->body, "two");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_THAT(requests[1].bytes, StartsWith("GET /b "));
  EXPECT_EQ(requests[1].connection, 0u);
  EXPECT_THAT(requests[2].bytes, StartsWith("GET /b "));
  EXPECT_EQ(requests[2].connection, 1u);
  EXPECT_EQ(client.connections_opened(), 2u);
}

TEST_F(HttpClientIntegrationTest, StaleConnectionIsNotRetriedForPost) {
  LoopbackServer server({[](Peer& p) {
    if (p.ReadRequest()) p.Write(HttpResponseBytes(200, "one"));
    if (p.ReadRequest()) p.Close();
  }});
  HttpClient client(io(), time());
  HttpRequest post = Get(server.port(), "/orders");
  post.method = "POST";
  post.body = "{}";

  ASSERT_TRUE(RunAsync(client.Send(Get(server.port()))).ok());
  auto second = RunAsync(client.Send(post));

  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr("before any response"));
  EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST_F(HttpClientIntegrationTest, ReusedConnectionDyingMidResponseIsNotRetried) {
  LoopbackServer server({[](Peer& p) {
    if (p.ReadRequest()) p.Write(HttpResponseBytes(200, "one"));
    if (p.ReadRequest()) p.Write("HTTP/1.1 200 OK\r\nContent-Le");
    p.Close();
  }});
  HttpClient client(io(), time());

  ASSERT_TRUE(RunAsync(client.Send(Get(server.port()))).ok());
  auto second = RunAsync(client.Send(Get(server.port())));

  EXPECT_EQ(second.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST_F(HttpClientIntegrationTest, ConcurrentSendsUseOneConnectionEachAndPoolIsBounded) {
  constexpr size_t kRequests = 6;
  std::mutex mu;
  std::condition_variable cv;
  size_t arrived = 0;
  // Each connection answers only once every request has arrived: a client that serialized the
  // requests would never get there (the wait is a bound for that failure, not a sleep).
  auto barrier_script = [&](Peer& p) {
    if (!p.ReadRequest()) return;
    std::unique_lock<std::mutex> lock(mu);
    ++arrived;
    cv.notify_all();
    const bool all = cv.wait_for(lock, 30s, [&] { return arrived == kRequests; });
    lock.unlock();
    p.Write(HttpResponseBytes(all ? 200 : 503, absl::StrCat("conn ", p.index())));
  };
  LoopbackServer server(std::vector<LoopbackServer::Script>(kRequests, barrier_script));
  HttpClient::Options options;
  options.max_idle_connections_per_host = 2;
  HttpClient client(io(), time(), options);

  auto results =
      RunAsync([&]() -> boost::asio::awaitable<std::vector<absl::StatusOr<HttpResponse>>> {
        auto ex = co_await boost::asio::this_coro::executor;
        using Op = decltype(boost::asio::co_spawn(ex, client.Send(Get(1)), boost::asio::deferred));
        std::vector<Op> ops;
        for (size_t i = 0; i < kRequests; ++i) {
          ops.push_back(boost::asio::co_spawn(
              ex, client.Send(Get(server.port(), absl::StrCat("/", i))), boost::asio::deferred));
        }
        auto [order, errors, values] =
            co_await boost::asio::experimental::make_parallel_group(std::move(ops))
                .async_wait(boost::asio::experimental::wait_for_all(), boost::asio::use_awaitable);
        for (const auto& e : errors) {
          if (e) std::rethrow_exception(e);
        }
        co_return std::move(values);
      }());

  ASSERT_EQ(results.size(), kRequests);
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(server.connections_accepted(), kRequests);
  EXPECT_EQ(client.connections_opened(), kRequests);
  EXPECT_EQ(client.idle_connections(), 2u);
}

// ---- Broken responses ---------------------------------------------------------------------------

TEST_F(HttpClientIntegrationTest, MalformedStatusLineIsDataLossNamingTheUrl) {
  LoopbackServer server({[](Peer& p) {
    if (p.ReadRequest()) p.Write("HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n");
  }});
  HttpClient client(io(), time());
  auto r = RunAsync(client.Send(Get(server.port(), "/bars")));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr("malformed HTTP response"));
  EXPECT_THAT(r.status().message(),
              HasSubstr(absl::StrCat("http://", HostPort(server.port()), "/bars")));
}

TEST_F(HttpClientIntegrationTest, NonHttpGreetingIsDataLoss) {
  LoopbackServer server({[](Peer& p) {
    if (p.ReadRequest()) p.Write("SSH-2.0-OpenSSH_9.2\r\n\r\n");
  }});
  HttpClient client(io(), time());
  auto r = RunAsync(client.Send(Get(server.port())));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(HttpClientIntegrationTest, TruncatedBodyIsDataLoss) {
  LoopbackServer server({[](Peer& p) {
    if (!p.ReadRequest()) return;
    p.Write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
    p.Close();
  }});
  HttpClient client(io(), time());
  auto r = RunAsync(client.Send(Get(server.port())));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr("truncated response body (10 bytes received)"));
}

TEST_F(HttpClientIntegrationTest, ResetMidResponseIsDataLoss) {
  LoopbackServer server({[](Peer& p) {
    if (!p.ReadRequest()) return;
    p.Write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
    p.Reset();
  }});
  HttpClient client(io(), time());
  auto r = RunAsync(client.Send(Get(server.port())));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("mid-response"));
}

TEST_F(HttpClientIntegrationTest, ResetBeforeAnyResponseIsUnavailableAndNotRetried) {
  LoopbackServer server({[](Peer& p) {
    if (p.ReadRequest()) p.Reset();
  }});
  HttpClient client(io(), time());
  auto r = RunAsync(client.Send(Get(server.port())));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("before any response"));
  EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST_F(HttpClientIntegrationTest, BodyOverTheLimitIsResourceExhausted) {
  LoopbackServer server({Respond(std::string(4096, 'x'))});
  HttpClient::Options options;
  options.max_response_bytes = 1024;
  HttpClient client(io(), time(), options);
  auto r = RunAsync(client.Send(Get(server.port())));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status().message(), HasSubstr("max_response_bytes"));
}

TEST_F(HttpClientIntegrationTest, ChunkedBodyOverTheLimitIsResourceExhausted) {
  LoopbackServer server({[](Peer& p) {
    if (!p.ReadRequest()) return;
    std::string chunks = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 3; ++i) absl::StrAppend(&chunks, "258\r\n", std::string(600, 'x'), "\r\n");
    p.Write(chunks + "0\r\n\r\n");
  }});
  HttpClient::Options options;
  options.max_response_bytes = 1024;
  HttpClient client(io(), time(), options);
  auto r = RunAsync(client.Send(Get(server.port())));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(HttpClientIntegrationTest, LargeChunkedBodyKeepsItsPadding) {
  const std::string piece(1000, 'p');
  LoopbackServer server({[&](Peer& p) {
    if (!p.ReadRequest()) return;
    std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 300; ++i) absl::StrAppend(&wire, "3e8\r\n", piece, "\r\n");
    p.Write(wire + "0\r\n\r\n");
  }});
  HttpClient client(io(), time());
  auto r = RunAsync(client.Send(Get(server.port())));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body.size(), 300u * piece.size());
  EXPECT_GE(r->body.capacity(), r->body.size() + kResponseBodyPadding);
}

// The body never comes: waiting for it would hang the case (the virtual clock does not move).
TEST_F(HttpClientIntegrationTest, HugeContentLengthIsRefusedBeforeReadingTheBody) {
  LoopbackServer server({[](Peer& p) {
    if (!p.ReadRequest()) return;
    p.Write("HTTP/1.1 200 OK\r\nContent-Length: 1099511627776\r\n\r\n");
    p.WaitForClose();
  }});
  HttpClient client(io(), time());  // the default limit
  auto r = RunAsync(client.Send(Get(server.port())));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("announces Content-Length 1099511627776"));
  EXPECT_THAT(r.status().message(), HasSubstr("max_response_bytes (8388608 bytes)"));
  EXPECT_FALSE(IsTransientTransportError(r.status()));
  EXPECT_EQ(time().elapsed(), 0s);
}

TEST_F(HttpClientIntegrationTest, BodyExactlyAtTheLimitIsAccepted) {
  LoopbackServer server({Respond(std::string(1024, 'x'))});
  HttpClient::Options options;
  options.max_response_bytes = 1024;
  HttpClient client(io(), time(), options);
  auto r = RunAsync(client.Send(Get(server.port())));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body.size(), 1024u);
}

// ---- Connection failures ----------------------------------------------------------------------

TEST_F(HttpClientIntegrationTest, RefusedPortIsUnavailable) {
  const uint16_t port = client_test::UnusedLoopbackPort();
  HttpClient client(io(), time());
  auto r = RunAsync(client.Send(Get(port, "/x")));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(),
              HasSubstr(absl::StrCat("connection refused by ", HostPort(port))));
  EXPECT_THAT(r.status().message(), HasSubstr(absl::StrCat("http://", HostPort(port), "/x")));
}

TEST_F(HttpClientIntegrationTest, UnresolvableHostIsUnavailable) {
  // A 64-byte label is not a valid DNS name: glibc's resolver rejects it before building a
  // query (checked with strace: no socket is opened), so nothing leaves the machine wherever
  // this runs. (glibc would send a query for "x.invalid" to the configured name server.)
  const std::string host = std::string(64, 'a') + ".invalid";
  HttpClient client(io(), time());
  auto r = RunAsync(client.Send(Get(80, "/", host)));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("cannot resolve host " + host));
}

// ---- Timeouts -----------------------------------------------------------------------------------

TEST_F(HttpClientIntegrationTest, ReadTimeoutOnTheVirtualClockIsDeadlineExceeded) {
  HttpClient::Options options;
  options.read_timeout = 30s;
  LoopbackServer server({[&](Peer& p) {
    if (!p.ReadRequest()) return;
    OnIoThread([&] { time().Advance(options.read_timeout); });  // ...and never answer
    p.WaitForClose();
  }});
  HttpClient client(io(), time(), options);

  auto r = RunAsync(client.Send(Get(server.port(), "/slow")));

  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr(HostPort(server.port())));
  EXPECT_THAT(r.status().message(), HasSubstr("after 30s (read_timeout)"));
  EXPECT_EQ(time().elapsed(), 30s);
}

// A server that keeps sending a byte now and then never trips read_timeout; the attempt's
// request_timeout ends it. read_timeout is out of reach here so only request_timeout can fire.
TEST_F(HttpClientIntegrationTest, SlowDripIsEndedByTheRequestTimeout) {
  HttpClient::Options options;
  options.read_timeout = 1h;
  options.request_timeout = 60s;
  LoopbackServer server({[&](Peer& p) {
    if (!p.ReadRequest()) return;
    p.Write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
    for (int i = 0; i < 3; ++i) {
      if (!p.Write("x")) return;
      OnIoThread([&] { time().Advance(20s); });
    }
    p.WaitForClose();
  }});
  HttpClient client(io(), time(), options);

  auto r = RunAsync(client.Send(Get(server.port(), "/drip")));

  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("reading response from " + HostPort(server.port())));
  EXPECT_THAT(r.status().message(), HasSubstr("after 60s for the whole request (request_timeout)"));
  EXPECT_TRUE(IsTransientTransportError(r.status()));
  EXPECT_EQ(time().elapsed(), 60s);
}

TEST_F(HttpClientIntegrationTest, SlowDripOnARealClockEnds) {
  RealTimeSource real_time;
  HttpClient::Options options;
  options.read_timeout = 10s;
  options.request_timeout = 300ms;
  LoopbackServer server({[](Peer& p) {
    if (!p.ReadRequest()) return;
    p.Write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    // Far longer than the test is allowed to take, a byte every 20 ms: only a deadline that
    // bytes do not push back can end it.
    for (int i = 0; i < 1000 && p.Write("x"); ++i) {
      std::this_thread::sleep_for(20ms);
    }
  }});
  HttpClient client(io(), real_time, options);

  auto r = RunAsync(client.Send(Get(server.port())));

  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("(request_timeout)"));
}

TEST_F(HttpClientIntegrationTest, RequestTimeoutAlsoBoundsTheConnectPhase) {
  HttpClient::Options options;
  options.connect_timeout = 1h;
  options.request_timeout = 5s;
  LoopbackServer server({[&](Peer& p) {
    OnIoThread([&] { time().Advance(5s); });  // never says a word of TLS
    p.WaitForClose();
  }});
  HttpClient client(io(), time(), options);

  auto r = RunAsync(client.Send(GetTls(server.port(), "/", "127.0.0.1")));

  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("in TLS handshake with"));
  EXPECT_THAT(r.status().message(), HasSubstr("(request_timeout)"));
  EXPECT_EQ(time().elapsed(), 5s);
}

TEST_F(HttpClientIntegrationTest, ResponseJustInsideTheReadTimeoutSucceeds) {
  HttpClient::Options options;
  options.read_timeout = 30s;
  LoopbackServer server({[&](Peer& p) {
    if (!p.ReadRequest()) return;
    OnIoThread([&] { time().Advance(options.read_timeout - 1ms); });
    p.Write(HttpResponseBytes(200, "in time"));
  }});
  HttpClient client(io(), time(), options);

  auto r = RunAsync(client.Send(Get(server.port())));

  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "in time");
  EXPECT_EQ(time().elapsed(), 30s - 1ms);
}

TEST_F(HttpClientIntegrationTest, ReadTimeoutOnARealClockIsDeadlineExceeded) {
  RealTimeSource real_time;
  HttpClient::Options options;
  options.read_timeout = 100ms;
  LoopbackServer server({[](Peer& p) {
    if (p.ReadRequest()) p.WaitForClose();
  }});
  HttpClient client(io(), real_time, options);

  auto r = RunAsync(client.Send(Get(server.port())));

  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("(read_timeout)"));
  EXPECT_THAT(r.status().message(), HasSubstr(HostPort(server.port())));
}

TEST_F(HttpClientIntegrationTest, ConnectTimeoutCoversTheTlsHandshake) {
  HttpClient::Options options;
  options.connect_timeout = 10s;
  // Accepts TCP, then never says a word of TLS.
  LoopbackServer server({[&](Peer& p) {
    OnIoThread([&] { time().Advance(options.connect_timeout); });
    p.WaitForClose();
  }});
  HttpClient client(io(), time(), options);

  auto r = RunAsync(client.Send(GetTls(server.port(), "/", "127.0.0.1")));

  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr(HostPort(server.port())));
  EXPECT_THAT(r.status().message(), HasSubstr("after 10s (connect_timeout)"));
}

TEST_F(HttpClientIntegrationTest, TlsHandshakeTimeoutOnARealClockNamesThePhase) {
  RealTimeSource real_time;
  HttpClient::Options options;
  options.connect_timeout = 100ms;
  LoopbackServer server({[](Peer& p) { p.WaitForClose(); }});
  HttpClient client(io(), real_time, options);

  auto r = RunAsync(client.Send(GetTls(server.port(), "/", "127.0.0.1")));

  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("TLS handshake with " + HostPort(server.port())));
}

TEST_F(HttpClientIntegrationTest, CancelledSendReturnsCancelledAndClosesItsConnection) {
  boost::asio::cancellation_signal cancel;
  std::promise<void> client_closed;
  LoopbackServer server({[&](Peer& p) {
    if (!p.ReadRequest()) return;
    OnIoThread([&] { cancel.emit(boost::asio::cancellation_type::terminal); });  // no answer
    p.WaitForClose();
    client_closed.set_value();
  }});
  HttpClient client(io(), time());

  auto r = RunAsync(boost::asio::co_spawn(
      io(), client.Send(Get(server.port())),
      boost::asio::bind_cancellation_slot(cancel.slot(), boost::asio::use_awaitable)));

  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr(HostPort(server.port())));
  // A bound for the failure case, not a sleep: the close has already happened when this passes.
  EXPECT_EQ(client_closed.get_future().wait_for(30s), std::future_status::ready);
  EXPECT_EQ(client.idle_connections(), 0u);
}

TEST_F(HttpClientIntegrationTest, SendLosingARaceToTheCallersTimerEndsPromptly) {
  LoopbackServer server({[&](Peer& p) {
    if (!p.ReadRequest()) return;
    OnIoThread([&] { time().Advance(1s); });  // the caller's patience runs out; no answer
    p.WaitForClose();
  }});
  HttpClient client(io(), time());

  const size_t winner = RunAsync([&]() -> boost::asio::awaitable<size_t> {
    using namespace boost::asio::experimental::awaitable_operators;
    auto result = co_await (client.Send(Get(server.port())) || time().SleepFor(1s));
    co_return result.index();
  }());

  EXPECT_EQ(winner, 1u);
  EXPECT_EQ(time().elapsed(), 1s);
}

// ---- TLS ----------------------------------------------------------------------------------------

// A certificate error is permanent: FAILED_PRECONDITION, which no caller retries.
TEST_F(HttpClientIntegrationTest, TlsCertificateNotInTheSystemStoreIsAPermanentCertificateError) {
  LoopbackServer server({Respond("secret")}, &cert_);
  HttpClient client(io(), time());
  auto r = RunAsync(client.Send(GetTls(server.port())));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_FALSE(IsTransientTransportError(r.status()));
  EXPECT_THAT(r.status().message(), HasSubstr("TLS handshake with localhost:"));
  EXPECT_THAT(r.status().message(), HasSubstr("certificate verification failed"));
  EXPECT_THAT(r.status().message(), HasSubstr("self-signed certificate"));
  EXPECT_EQ(server.connections_accepted(), 1u);
  EXPECT_EQ(time().elapsed(), 0s);
}

// OpenSSL's default trust store honours SSL_CERT_FILE (each case runs in its own process).
TEST_F(HttpClientIntegrationTest, TlsCertificateTrustedThroughSslCertFileSucceeds) {
  ASSERT_EQ(setenv("SSL_CERT_FILE", ca_file_.c_str(), 1), 0);
  LoopbackServer server({Respond("trusted")}, &cert_);
  HttpClient client(io(), time());
  auto r = RunAsync(client.Send(GetTls(server.port())));
  unsetenv("SSL_CERT_FILE");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "trusted");
}

TEST_F(HttpClientIntegrationTest, TlsWithCaFileSucceedsAndSendsSni) {
  std::string sni;
  LoopbackServer server({[&](Peer& p) {
                          sni = p.sni();
                          if (p.ReadRequest()) p.Write(HttpResponseBytes(200, "over tls"));
                        }},
                        &cert_);
  HttpClient::Options options;
  options.ca_file = ca_file_;
  HttpClient client(io(), time(), options);

  auto r = RunAsync(client.Send(GetTls(server.port(), "/v2/stocks/bars")));

  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "over tls");
  server.Stop();  // joins the script thread that wrote `sni`
  EXPECT_EQ(sni, "localhost");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_THAT(server.requests()[0].bytes,
              HasSubstr(absl::StrCat("\r\nHost: localhost:", server.port(), "\r\n")));
}

TEST_F(HttpClientIntegrationTest, TlsToAnIpAddressChecksTheIpSubjectAltName) {
  std::string sni = "unset";
  LoopbackServer server({[&](Peer& p) {
                          sni = p.sni();
                          if (p.ReadRequest()) p.Write(HttpResponseBytes(200, "ip"));
                        }},
                        &cert_);
  HttpClient::Options options;
  options.ca_file = ca_file_;
  HttpClient client(io(), time(), options);

  auto r = RunAsync(client.Send(GetTls(server.port(), "/", "127.0.0.1")));

  ASSERT_TRUE(r.ok()) << r.status();
  server.Stop();
  EXPECT_EQ(sni, "");  // no SNI for an IP literal (RFC 6066)
}

TEST_F(HttpClientIntegrationTest, TlsHostNameMismatchIsRejected) {
  TestCertificate other = TestCertificate::Generate("other.example", {"DNS:other.example"});
  const std::string other_ca = mptest::CaseTempDir() + "/other.pem";
  other.WritePem(other_ca);
  LoopbackServer server({Respond("secret")}, &other);
  HttpClient::Options options;
  options.ca_file = other_ca;
  HttpClient client(io(), time(), options);

  auto r = RunAsync(client.Send(GetTls(server.port())));

  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("certificate verification failed"));
  EXPECT_THAT(r.status().message(), HasSubstr("hostname mismatch"));
}

TEST_F(HttpClientIntegrationTest, TlsKeepAliveReusesTheConnection) {
  LoopbackServer server({[](Peer& p) {
                          for (const char* body : {"one", "two"}) {
                            if (!p.ReadRequest()) return;
                            p.Write(HttpResponseBytes(200, body));
                          }
                        }},
                        &cert_);
  HttpClient::Options options;
  options.ca_file = ca_file_;
  HttpClient client(io(), time(), options);

  auto first = RunAsync(client.Send(GetTls(server.port())));
  auto second = RunAsync(client.Send(GetTls(server.port())));

  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->body, "two");
  EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST_F(HttpClientIntegrationTest, TlsVerificationCanBeTurnedOff) {
  LoopbackServer server({Respond("unverified")}, &cert_);
  HttpClient::Options options;
  options.verify_peer = false;
  HttpClient client(io(), time(), options);
  auto r = RunAsync(client.Send(GetTls(server.port())));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "unverified");
}

TEST_F(HttpClientIntegrationTest, PlainHttpServerOnHttpsIsATlsFailure) {
  LoopbackServer server({[](Peer& p) {
    p.Write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    p.Close();
  }});
  HttpClient client(io(), time());
  auto r = RunAsync(client.Send(GetTls(server.port(), "/", "127.0.0.1")));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("TLS handshake with " + HostPort(server.port())));
}

// ---- The fake Alpaca server ---------------------------------------------------------------------

HttpRequest BarsRequest(const ::mptest::FakeAlpacaServer& server) {
  HttpRequest r = Get(server.port(), "/v2/stocks/bars?symbols=AAPL&timeframe=1Min", server.host());
  r.headers.Add("APCA-API-KEY-ID", "key");
  r.headers.Add("APCA-API-SECRET-KEY", "secret");
  return r;
}

TEST_F(HttpClientIntegrationTest, FakeAlpacaServerServesBarsOverOneKeptAliveConnection) {
  ::mptest::FakeAlpacaServer server;
  server.AddPage({{"AAPL",
                   {{.t = "2024-01-02T14:30:00Z",
                     .o = 187.15,
                     .h = 187.2,
                     .l = 187.1,
                     .c = 187.18,
                     .v = 1200,
                     .n = 14,
                     .vw = 187.16}}}});
  HttpClient client(io(), time());

  auto first = RunAsync(client.Send(BarsRequest(server)));
  auto second = RunAsync(client.Send(BarsRequest(server)));

  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->status, 200);
  EXPECT_THAT(first->headers.Get("Content-Type").value_or(""), HasSubstr("json"));
  EXPECT_THAT(first->body, AllOf(StartsWith("{"), HasSubstr("\"bars\""), HasSubstr("\"AAPL\"")));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(server.connections_accepted(), 1u);
  ASSERT_EQ(server.request_count(), 2u);
  EXPECT_EQ(server.requests()[0].Query("symbols"), "AAPL");
}

TEST_F(HttpClientIntegrationTest, FakeAlpacaServerErrorStatusIsAResponseNotAnError) {
  ::mptest::FakeAlpacaServer server;
  server.AddPage({});
  server.InjectNext(1, ::mptest::FakeAlpacaServer::Fault::TooManyRequests(3));
  HttpClient client(io(), time());
  auto r = RunAsync(client.Send(BarsRequest(server)));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->headers.Get("Retry-After"), "3");
}

TEST_F(HttpClientIntegrationTest, FakeAlpacaServerTruncatedBodyIsDataLoss) {
  ::mptest::FakeAlpacaServer server;
  server.AddPage({{"AAPL", {{.t = "2024-01-02T14:30:00Z", .o = 1, .h = 1, .l = 1, .c = 1}}}});
  server.InjectNext(1, ::mptest::FakeAlpacaServer::Fault::TruncatedBody());
  HttpClient client(io(), time());
  auto r = RunAsync(client.Send(BarsRequest(server)));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
}

TEST_F(HttpClientIntegrationTest, FakeAlpacaServerResetIsUnavailable) {
  ::mptest::FakeAlpacaServer server;
  server.AddPage({});
  server.InjectNext(1, ::mptest::FakeAlpacaServer::Fault::ConnectionReset());
  HttpClient client(io(), time());
  auto r = RunAsync(client.Send(BarsRequest(server)));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
}

TEST_F(HttpClientIntegrationTest, FakeAlpacaServerOverTlsWorksWhenTrusted) {
  ::mptest::FakeAlpacaServer::Options fake_options;
  fake_options.tls = ::mptest::FakeAlpacaServer::Options::Tls{cert_.Pem(), cert_.KeyPem()};
  ::mptest::FakeAlpacaServer server(fake_options);
  server.AddPageJson(R"({"AAPL":[]})");
  HttpClient::Options options;
  options.ca_file = ca_file_;
  HttpClient client(io(), time(), options);
  HttpRequest request = BarsRequest(server);
  request.scheme = "https";

  auto r = RunAsync(client.Send(request));

  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(server.base_url(), StartsWith("https://127.0.0.1:"));
}

TEST_F(HttpClientIntegrationTest, FakeAlpacaServerOverTlsUntrustedIsACertificateError) {
  ::mptest::FakeAlpacaServer::Options fake_options;
  fake_options.tls = ::mptest::FakeAlpacaServer::Options::Tls{cert_.Pem(), cert_.KeyPem()};
  ::mptest::FakeAlpacaServer server(fake_options);
  HttpClient client(io(), time());
  HttpRequest request = BarsRequest(server);
  request.scheme = "https";

  auto r = RunAsync(client.Send(request));

  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("certificate verification failed"));
  EXPECT_EQ(server.request_count(), 0u);
}

TEST_F(HttpClientIntegrationTest, FakeAlpacaServerHugeContentLengthIsRefusedAtTheHeader) {
  ::mptest::FakeAlpacaServer server;
  server.InjectNext(1, ::mptest::FakeAlpacaServer::Fault::HugeContentLength(uint64_t{1} << 40));
  HttpClient client(io(), time());
  auto r = RunAsync(client.Send(BarsRequest(server)));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("announces Content-Length 1099511627776"));
}

TEST_F(HttpClientIntegrationTest, FakeAlpacaServerSlowDripEndsAtTheRequestTimeout) {
  RealTimeSource real_time;
  ::mptest::FakeAlpacaServer server;
  server.AddPageJson(R"({"AAPL":[]})");
  server.InjectNext(1, ::mptest::FakeAlpacaServer::Fault::SlowDrip(20ms, 1));
  HttpClient::Options options;
  options.read_timeout = 10s;
  options.request_timeout = 300ms;
  HttpClient client(io(), real_time, options);
  auto r = RunAsync(client.Send(BarsRequest(server)));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("(request_timeout)"));
}

}  // namespace
}  // namespace marketpipe::net
