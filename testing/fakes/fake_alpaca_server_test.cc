#include "testing/fakes/fake_alpaca_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace mptest {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Fault = FakeAlpacaServer::Fault;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr char kBarsQuery[] = "/v2/stocks/bars?symbols=AAPL&timeframe=1Min";

std::vector<std::pair<std::string, std::string>> AuthHeaders() {
  return {{"APCA-API-KEY-ID", "test-key"}, {"APCA-API-SECRET-KEY", "test-secret"}};
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string BarsTarget(const std::string& page_token = "") {
  std::string target = kBarsQuery;
  if (!page_token.empty()) target += "&page_token=" + PercentEncode(page_token);
  return target;
}

// What a client saw for one request: a response, a partial one, or only an error.
struct ClientResult {
  boost::system::error_code ec;
  bool header_done = false;
  int status = 0;
  http::fields headers;
  std::string body;
  std::optional<uint64_t> content_length;

  std::string Header(std::string_view name) const {
    auto it = headers.find(boost::core::string_view(name.data(), name.size()));
    return it == headers.end() ? "" : std::string(it->value());
  }
};

// A blocking HTTP/1.1 client on one TCP connection. The server runs on its own thread, so
// blocking here is fine; a hung server would surface as the test's timeout.
class Connection {
 public:
  Connection(asio::io_context& io, uint16_t port) : socket_(io) {
    socket_.connect(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port));
  }

  void Write(const std::string& target,
             const std::vector<std::pair<std::string, std::string>>& headers = AuthHeaders(),
             http::verb method = http::verb::get, bool keep_alive = true) {
    http::request<http::empty_body> req(method, target, 11);
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::user_agent, "marketpipe-test");
    for (const auto& [name, value] : headers) req.set(name, value);
    req.keep_alive(keep_alive);
    http::write(socket_, req);
  }

  ClientResult Read() {
    ClientResult result;
    http::response_parser<http::string_body> parser;
    http::read(socket_, buffer_, parser, result.ec);
    result.header_done = parser.is_header_done();
    if (result.header_done) {
      result.status = parser.get().result_int();
      result.headers = parser.get().base();
      if (auto length = parser.content_length()) result.content_length = *length;
    }
    result.body = parser.get().body();
    return result;
  }

  // Reads only the status line and headers (whatever the Content-Length says).
  ClientResult ReadHeader() {
    ClientResult result;
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    http::read_header(socket_, buffer_, parser, result.ec);
    result.header_done = parser.is_header_done();
    if (result.header_done) {
      result.status = parser.get().result_int();
      if (auto length = parser.content_length()) result.content_length = *length;
    }
    return result;
  }

  // Every byte until the server closes the connection.
  std::string ReadUntilClose() {
    std::string out(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    boost::system::error_code ec;
    char chunk[4096];
    while (!ec) {
      const size_t n = socket_.read_some(asio::buffer(chunk), ec);
      out.append(chunk, n);
    }
    return out;
  }

  ClientResult Get(
      const std::string& target,
      const std::vector<std::pair<std::string, std::string>>& headers = AuthHeaders()) {
    Write(target, headers);
    return Read();
  }

 private:
  tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

boost::json::value ParseJson(const std::string& body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  EXPECT_FALSE(ec) << "not JSON: " << body;
  return v;
}

std::string Message(const ClientResult& r) {
  const boost::json::value v = ParseJson(r.body);
  if (!v.is_object() || !v.as_object().contains("message")) return "<no message>";
  return std::string(v.at("message").as_string());
}

FakeAlpacaServer::Bar MakeBar(std::string t, double close, int64_t volume) {
  return {.t = std::move(t),
          .o = close - 0.05,
          .h = close + 0.1,
          .l = close - 0.1,
          .c = close,
          .v = volume,
          .n = 7,
          .vw = close + 0.01};
}

class FakeAlpacaServerTest : public ::testing::Test {
 protected:
  std::unique_ptr<Connection> Connect() {
    return std::make_unique<Connection>(io_, server_.port());
  }

  asio::io_context io_;
  FakeAlpacaServer server_;
};

TEST_F(FakeAlpacaServerTest, BindsAnEphemeralLoopbackPort) {
  EXPECT_NE(server_.port(), 0);
  EXPECT_EQ(server_.base_url(), "http://127.0.0.1:" + std::to_string(server_.port()));
  FakeAlpacaServer other;
  EXPECT_NE(other.port(), server_.port());
}

TEST_F(FakeAlpacaServerTest, ServesPagesChainedByNextPageToken) {
  server_.AddPage({{"AAPL",
                    {MakeBar("2024-01-02T14:30:00Z", 187.15, 1200),
                     MakeBar("2024-01-02T14:31:00Z", 187.2, 900)}}});
  server_.AddPage({{"AAPL", {MakeBar("2024-01-02T14:32:00Z", 187.3, 100)}},
                   {"MSFT", {MakeBar("2024-01-02T14:30:00Z", 370.5, 50)}}});
  server_.AddPageJson(R"({"MSFT":[]})");
  auto conn = Connect();

  std::vector<std::string> seen;  // "SYM@t"
  std::vector<std::string> tokens_sent;
  std::string token;
  for (int page = 0; page < 10; ++page) {
    const ClientResult r = conn->Get(BarsTarget(token));
    ASSERT_FALSE(r.ec) << r.ec.message();
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Header("Content-Type"), "application/json");
    const boost::json::value v = ParseJson(r.body);
    for (const auto& [symbol, bars] : v.at("bars").as_object()) {
      for (const auto& bar : bars.as_array()) {
        seen.push_back(std::string(symbol) + "@" + std::string(bar.at("t").as_string()));
      }
    }
    const boost::json::value& next = v.at("next_page_token");
    if (next.is_null()) break;
    token = std::string(next.as_string());
    tokens_sent.push_back(token);
  }

  EXPECT_THAT(seen,
              ::testing::ElementsAre("AAPL@2024-01-02T14:30:00Z", "AAPL@2024-01-02T14:31:00Z",
                                     "AAPL@2024-01-02T14:32:00Z", "MSFT@2024-01-02T14:30:00Z"));
  EXPECT_THAT(tokens_sent, ::testing::ElementsAre(FakeAlpacaServer::PageToken(1),
                                                  FakeAlpacaServer::PageToken(2)));
  EXPECT_NE(FakeAlpacaServer::PageToken(1).find('='), std::string::npos);
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].Query("page_token"), std::nullopt);
  EXPECT_EQ(requests[1].Query("page_token"), FakeAlpacaServer::PageToken(1));
  EXPECT_EQ(requests[2].Query("page_token"), FakeAlpacaServer::PageToken(2));
}

TEST_F(FakeAlpacaServerTest, RendersBarFieldsAsAlpacaDoes) {
  server_.AddPage({{"AAPL", {MakeBar("2024-01-02T14:30:00Z", 187.15, 1200)}}});

  const ClientResult r = Connect()->Get(BarsTarget());

  const boost::json::value bar = ParseJson(r.body).at("bars").at("AAPL").at(0);
  EXPECT_EQ(bar.at("t").as_string(), "2024-01-02T14:30:00Z");
  EXPECT_DOUBLE_EQ(bar.at("c").to_number<double>(), 187.15);
  EXPECT_DOUBLE_EQ(bar.at("o").to_number<double>(), 187.15 - 0.05);
  EXPECT_EQ(bar.at("v").to_number<int64_t>(), 1200);
  EXPECT_EQ(bar.at("n").to_number<int64_t>(), 7);
  EXPECT_TRUE(bar.as_object().contains("vw"));
}

// The symbols of each page's "bars", in order.
std::vector<std::string> PageSymbols(const ClientResult& r) {
  std::vector<std::string> symbols;
  const boost::json::value page = ParseJson(r.body);
  for (const auto& [symbol, bars] : page.at("bars").as_object()) {
    symbols.emplace_back(symbol);
  }
  return symbols;
}

TEST_F(FakeAlpacaServerTest, ServesOnlyTheRequestedSymbolsWhenAsked) {
  server_.AddPage({{"AAPL", {MakeBar("2024-01-02T14:30:00Z", 187.15, 1200)}},
                   {"MSFT", {MakeBar("2024-01-02T14:30:00Z", 370.5, 50)}},
                   {"NVDA", {MakeBar("2024-01-02T14:30:00Z", 480.0, 70)}}});
  server_.AddPage({{"MSFT", {MakeBar("2024-01-02T14:31:00Z", 370.6, 50)}}});
  server_.AddPage({{"AAPL", {MakeBar("2024-01-02T14:31:00Z", 187.2, 900)}}});
  server_.AddPageJson(R"({"AAPL":[],"MSFT":[]})");  // served as it is, filter or not
  auto conn = Connect();
  const std::string both = "/v2/stocks/bars?symbols=NVDA,AAPL&timeframe=1Min";
  auto page = [&](const std::string& target, size_t token) {
    return conn->Get(target + "&page_token=" + PercentEncode(FakeAlpacaServer::PageToken(token)));
  };
  auto next = [](const ClientResult& r) {
    const boost::json::value v = ParseJson(r.body).at("next_page_token");
    return v.is_null() ? std::string("null") : std::string(v.as_string());
  };
  EXPECT_THAT(PageSymbols(conn->Get(both)), ::testing::ElementsAre("AAPL", "MSFT", "NVDA"));

  server_.SetServeOnlyRequestedSymbols(true);
  const ClientResult r = conn->Get(both);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(PageSymbols(r), ::testing::ElementsAre("AAPL", "NVDA"));
  EXPECT_EQ(next(r), FakeAlpacaServer::PageToken(1));
  // Page 1 holds only MSFT: it is skipped, and the token points past what was read.
  const ClientResult skipped = page(both, 1);
  EXPECT_THAT(PageSymbols(skipped), ::testing::ElementsAre("AAPL"));
  EXPECT_EQ(next(skipped), FakeAlpacaServer::PageToken(3));
  EXPECT_THAT(PageSymbols(page(both, 3)), ::testing::ElementsAre("AAPL", "MSFT"));  // JSON page
  // A symbol on no page: one empty page, whose token names the unfiltered JSON page.
  const ClientResult none = conn->Get("/v2/stocks/bars?symbols=TSLA&timeframe=1Min");
  EXPECT_THAT(PageSymbols(none), ::testing::IsEmpty());
  EXPECT_EQ(next(none), FakeAlpacaServer::PageToken(3));
}

TEST_F(FakeAlpacaServerTest, SymbolFaultHitsEveryRequestNamingThatSymbolOnly) {
  server_.AddPage({{"AAPL", {MakeBar("2024-01-02T14:30:00Z", 187.15, 1200)}}});
  server_.InjectForSymbol("BADX", Fault::Error(422, "invalid symbol: BADX"));
  server_.InjectOnRequest(3, Fault::ServerError(503));  // a per-index fault wins
  server_.InjectNext(1, Fault::ServerError(500));       // taken by the first request without
  auto conn = Connect();
  std::vector<int> statuses;
  for (const char* symbols : {"AAPL,BADX,MSFT", "BADX", "AAPL", "BADX", "AAPL"}) {
    const ClientResult r =
        conn->Get(std::string("/v2/stocks/bars?timeframe=1Min&symbols=") + symbols);
    statuses.push_back(r.status);
    if (r.status == 422) {
      EXPECT_EQ(ParseJson(r.body).at("message").as_string(), "invalid symbol: BADX");
    }
  }
  EXPECT_THAT(statuses, ::testing::ElementsAre(422, 422, 500, 503, 200));
  server_.ClearFaults();
  EXPECT_EQ(conn->Get("/v2/stocks/bars?timeframe=1Min&symbols=BADX").status, 200);
}

TEST_F(FakeAlpacaServerTest, NoPagesServesAnEmptyLastPage) {
  const ClientResult r = Connect()->Get(BarsTarget());

  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"bars":{},"next_page_token":null})");
}

TEST_F(FakeAlpacaServerTest, RawPageIsServedVerbatim) {
  server_.AddRawPage(R"({"bars":[{"S":"AAPL","t":"2024-01-02T14:30:00Z"}],"next_page_token":""})");

  const ClientResult r = Connect()->Get(BarsTarget());

  EXPECT_EQ(r.body, R"({"bars":[{"S":"AAPL","t":"2024-01-02T14:30:00Z"}],"next_page_token":""})");
}

TEST_F(FakeAlpacaServerTest, UnknownPageTokenIs422) {
  server_.AddPage({});
  server_.AddPage({});

  const ClientResult r = Connect()->Get(BarsTarget("bogus"));

  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(Message(r), "invalid page_token");
}

TEST_F(FakeAlpacaServerTest, TooManyRequestsCarriesRetryAfterThenRecovers) {
  server_.InjectOnRequest(0, Fault::TooManyRequests(2));
  auto conn = Connect();

  const ClientResult throttled = conn->Get(BarsTarget());
  const ClientResult ok = conn->Get(BarsTarget());

  EXPECT_EQ(throttled.status, 429);
  EXPECT_EQ(throttled.Header("Retry-After"), "2");
  EXPECT_EQ(Message(throttled), "too many requests.");
  EXPECT_EQ(ok.status, 200) << "the connection stays usable after a 429";
}

TEST_F(FakeAlpacaServerTest, ServerErrorsOnTheNextRequests) {
  server_.InjectNext(2, Fault::ServerError(503));
  server_.InjectOnRequest(3, Fault::ServerError(502));
  auto conn = Connect();

  std::vector<int> statuses;
  for (int i = 0; i < 5; ++i) statuses.push_back(conn->Get(BarsTarget()).status);

  EXPECT_THAT(statuses, ::testing::ElementsAre(503, 503, 200, 502, 200));
}

TEST_F(FakeAlpacaServerTest, ErrorFaultSendsJsonMessage) {
  server_.InjectOnRequest(0, Fault::Error(403, "forbidden."));
  server_.InjectOnRequest(1, Fault::ServerError(500));

  auto conn = Connect();
  const ClientResult forbidden = conn->Get(BarsTarget());
  const ClientResult internal = conn->Get(BarsTarget());

  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(Message(forbidden), "forbidden.");
  EXPECT_EQ(internal.status, 500);
  EXPECT_EQ(Message(internal), "internal server error");
}

TEST_F(FakeAlpacaServerTest, ConnectionResetIsAReadErrorWithoutResponse) {
  server_.InjectOnRequest(0, Fault::ConnectionReset());

  const ClientResult reset = Connect()->Get(BarsTarget());
  const ClientResult next = Connect()->Get(BarsTarget());

  EXPECT_EQ(reset.ec, asio::error::connection_reset) << reset.ec.message();
  EXPECT_FALSE(reset.header_done);
  EXPECT_EQ(server_.requests().size(), 2u) << "the reset request is still recorded";
  EXPECT_EQ(next.status, 200);
}

TEST_F(FakeAlpacaServerTest, TruncatedBodyIsShorterThanContentLength) {
  server_.AddPage({{"AAPL", {MakeBar("2024-01-02T14:30:00Z", 187.15, 1200)}}});
  server_.InjectOnRequest(0, Fault::TruncatedBody());

  const ClientResult r = Connect()->Get(BarsTarget());

  EXPECT_EQ(r.ec, http::error::partial_message) << r.ec.message();
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(r.content_length.has_value());
  EXPECT_GT(r.body.size(), 0u);
  EXPECT_LT(r.body.size(), *r.content_length);
}

TEST_F(FakeAlpacaServerTest, MalformedJsonIsWellFramedButUnparseable) {
  server_.InjectOnRequest(0, Fault::MalformedJson());

  const ClientResult r = Connect()->Get(BarsTarget());

  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_length, r.body.size());
  boost::system::error_code ec;
  boost::json::parse(r.body, ec);
  EXPECT_TRUE(ec) << "expected invalid JSON: " << r.body;
}

TEST_F(FakeAlpacaServerTest, LatencyDelaysTheResponse) {
  constexpr milliseconds kLatency(20);
  server_.InjectOnRequest(0, Fault::Latency(kLatency));
  server_.InjectOnRequest(1, Fault::TooManyRequests(1).WithLatency(kLatency));
  auto conn = Connect();

  const Clock::time_point start = Clock::now();
  const ClientResult delayed = conn->Get(BarsTarget());
  const Clock::time_point first_done = Clock::now();
  const ClientResult throttled = conn->Get(BarsTarget());
  const Clock::time_point second_done = Clock::now();

  EXPECT_EQ(delayed.status, 200);
  EXPECT_EQ(throttled.status, 429);
  EXPECT_GE(first_done - start, kLatency);
  EXPECT_GE(second_done - first_done, kLatency);
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_GE(first_done - requests[0].received_at, kLatency);
  EXPECT_GE(second_done - requests[1].received_at, kLatency);
}

TEST_F(FakeAlpacaServerTest, MissingAuthHeadersIs401) {
  const ClientResult r = Connect()->Get(BarsTarget(), {{"APCA-API-KEY-ID", "test-key"}});

  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Message(r), "unauthorized.");
}

TEST(FakeAlpacaServerOptionsTest, WrongCredentialsAre403) {
  FakeAlpacaServer server({.key_id = "right-key", .secret_key = "right-secret"});
  asio::io_context io;
  Connection conn(io, server.port());

  const ClientResult wrong = conn.Get(
      BarsTarget(), {{"APCA-API-KEY-ID", "right-key"}, {"APCA-API-SECRET-KEY", "wrong-secret"}});
  const ClientResult right = conn.Get(
      BarsTarget(), {{"APCA-API-KEY-ID", "right-key"}, {"APCA-API-SECRET-KEY", "right-secret"}});

  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(Message(wrong), "forbidden.");
  EXPECT_EQ(right.status, 200);
}

TEST_F(FakeAlpacaServerTest, MissingRequiredParameterIs422) {
  auto conn = Connect();

  const ClientResult no_timeframe = conn->Get("/v2/stocks/bars?symbols=AAPL");
  const ClientResult no_symbols = conn->Get("/v2/stocks/bars?timeframe=1Min");
  const ClientResult bad_limit = conn->Get(std::string(kBarsQuery) + "&limit=20000");

  EXPECT_EQ(no_timeframe.status, 422);
  EXPECT_EQ(Message(no_timeframe), "missing required query parameter: timeframe");
  EXPECT_EQ(no_symbols.status, 422);
  EXPECT_EQ(Message(no_symbols), "missing required query parameter: symbols");
  EXPECT_EQ(bad_limit.status, 422);
}

TEST_F(FakeAlpacaServerTest, OtherPathIs404AndOtherMethodIs405) {
  auto conn = Connect();

  const ClientResult other_path = conn->Get("/v2/stocks/trades?symbols=AAPL");
  conn->Write(BarsTarget(), AuthHeaders(), http::verb::post);
  const ClientResult post = conn->Read();

  EXPECT_EQ(other_path.status, 404);
  EXPECT_EQ(Message(other_path), "endpoint not found.");
  EXPECT_EQ(post.status, 405);
}

TEST_F(FakeAlpacaServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto conn = Connect();

  const ClientResult first = conn->Get(BarsTarget());
  const ClientResult second = conn->Get(BarsTarget());

  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(second.status, 200);
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].connection, requests[1].connection);
  EXPECT_EQ(requests[0].index, 0u);
  EXPECT_EQ(requests[1].index, 1u);
  EXPECT_EQ(server_.connections_accepted(), 1u);
}

TEST_F(FakeAlpacaServerTest, ConnectionCloseRequestIsHonoured) {
  auto conn = Connect();
  conn->Write(BarsTarget(), AuthHeaders(), http::verb::get, /*keep_alive=*/false);

  const ClientResult response = conn->Read();
  const ClientResult after = conn->Read();

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("Connection"), "close");
  EXPECT_EQ(after.ec, http::error::end_of_stream) << after.ec.message();
}

TEST_F(FakeAlpacaServerTest, ServesThirtyTwoConcurrentConnections) {
  constexpr int kConnections = 32;
  std::vector<std::unique_ptr<Connection>> conns;
  for (int i = 0; i < kConnections; ++i) conns.push_back(Connect());
  // Every connection has a request in flight before any response is read, and responses are
  // read newest first: a server that served connections one at a time would stall here.
  for (auto& conn : conns) conn->Write(BarsTarget());

  std::vector<int> statuses;
  for (auto it = conns.rbegin(); it != conns.rend(); ++it) statuses.push_back((*it)->Read().status);

  EXPECT_THAT(statuses, ::testing::Each(200));
  EXPECT_EQ(statuses.size(), static_cast<size_t>(kConnections));
  std::set<size_t> connection_ids;
  for (const auto& r : server_.requests()) connection_ids.insert(r.connection);
  EXPECT_EQ(connection_ids.size(), static_cast<size_t>(kConnections));
  EXPECT_EQ(server_.connections_accepted(), static_cast<size_t>(kConnections));
}

TEST_F(FakeAlpacaServerTest, CapturesMethodTargetQueryAndHeaders) {
  const std::string target =
      "/v2/stocks/bars?symbols=AAPL%2CBRK.B&timeframe=1Min&start=2024-01-02T14%3A30%3A00Z"
      "&limit=10000&feed=iex";
  auto headers = AuthHeaders();
  headers.emplace_back("X-Request-Id", "req-42");

  const Clock::time_point before = Clock::now();
  const ClientResult r = Connect()->Get(target, headers);
  const Clock::time_point after = Clock::now();

  ASSERT_EQ(r.status, 200);
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const FakeAlpacaServer::RecordedRequest& req = requests[0];
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, target);
  EXPECT_EQ(req.path, "/v2/stocks/bars");
  const QueryParams expected_query = {{"symbols", "AAPL,BRK.B"},
                                      {"timeframe", "1Min"},
                                      {"start", "2024-01-02T14:30:00Z"},
                                      {"limit", "10000"},
                                      {"feed", "iex"}};
  EXPECT_EQ(req.query, expected_query);
  EXPECT_EQ(req.headers.Get("apca-api-key-id"), "test-key");
  EXPECT_EQ(req.headers.Get("APCA-API-SECRET-KEY"), "test-secret");
  EXPECT_EQ(req.headers.Get("X-Request-Id"), "req-42");
  EXPECT_EQ(req.headers.Get("User-Agent"), "marketpipe-test");
  EXPECT_GE(req.received_at, before);
  EXPECT_LE(req.received_at, after);
}

TEST_F(FakeAlpacaServerTest, StopClosesOpenConnectionsAndIsIdempotent) {
  auto conn = Connect();
  ASSERT_EQ(conn->Get(BarsTarget()).status, 200);
  // A second request is in flight on a connection with latency pending when the server stops.
  server_.InjectOnRequest(1, Fault::Latency(std::chrono::hours(1)));
  conn->Write(BarsTarget());

  server_.Stop();
  server_.Stop();

  const ClientResult r = conn->Read();
  EXPECT_TRUE(r.ec) << "the connection must be closed by Stop()";
  EXPECT_FALSE(r.header_done);
}

TEST_F(FakeAlpacaServerTest, ClearFaultsDropsPendingFaults) {
  server_.InjectNext(3, Fault::ServerError());
  server_.InjectOnRequest(0, Fault::ConnectionReset());
  server_.ClearFaults();

  EXPECT_EQ(Connect()->Get(BarsTarget()).status, 200);
}

// ---- Hostile behaviours --------------------------------------------------------------------

TEST_F(FakeAlpacaServerTest, SlowDripSendsTheWholeResponseInSmallSteps) {
  server_.AddPage({{"AAPL", {MakeBar("2024-01-02T14:30:00Z", 187.15, 1200)}}});
  server_.InjectOnRequest(0, Fault::SlowDrip(milliseconds(1), 64));

  const ClientResult dripped = Connect()->Get(BarsTarget());
  const ClientResult normal = Connect()->Get(BarsTarget());

  ASSERT_FALSE(dripped.ec) << dripped.ec.message();
  EXPECT_EQ(dripped.status, 200);
  EXPECT_EQ(dripped.body, normal.body);
}

TEST_F(FakeAlpacaServerTest, HugeContentLengthAnnouncesMoreThanItSends) {
  server_.AddPage({{"AAPL", {MakeBar("2024-01-02T14:30:00Z", 187.15, 1200)}}});
  server_.InjectOnRequest(0, Fault::HugeContentLength(uint64_t{1} << 40));
  auto conn = Connect();
  conn->Write(BarsTarget());

  const ClientResult head = conn->ReadHeader();

  ASSERT_FALSE(head.ec) << head.ec.message();
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.content_length, uint64_t{1} << 40);
}

TEST_F(FakeAlpacaServerTest, RawFaultSendsExactlyItsBytes) {
  const std::string bytes =
      "HTTP/1.1 200 O\x01K\r\nX-Evil: a\x1b[31m\r\nContent-Length: 2\r\n\r\nhi";
  server_.InjectOnRequest(0, Fault::Raw(bytes));
  auto conn = Connect();
  conn->Write(BarsTarget());
  EXPECT_EQ(conn->ReadUntilClose(), bytes);
}

TEST_F(FakeAlpacaServerTest, ControlCharactersInAMessageReachTheClientIntact) {
  const std::string message = "bad\x01thing\n\x1b[31mred\x7f";
  server_.InjectOnRequest(0, Fault::Error(500, message));
  const ClientResult r = Connect()->Get(BarsTarget());
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Message(r), message);
}

TEST_F(FakeAlpacaServerTest, EndlessPageTokensNeverEndThePagination) {
  server_.AddPage({{"AAPL", {MakeBar("2024-01-02T14:30:00Z", 187.15, 1200)}}});
  server_.SetEndlessPageTokens(true);
  auto conn = Connect();
  std::set<std::string> tokens;
  std::string token;
  for (int i = 0; i < 5; ++i) {
    const ClientResult r = conn->Get(BarsTarget(token));
    ASSERT_EQ(r.status, 200) << r.body;
    const boost::json::value v = ParseJson(r.body);
    ASSERT_TRUE(v.at("next_page_token").is_string()) << r.body;
    token = std::string(v.at("next_page_token").as_string());
    tokens.insert(token);
    EXPECT_TRUE(v.at("bars").as_object().contains("AAPL")) << "the last page again";
  }
  EXPECT_EQ(tokens.size(), 5u) << "every token is fresh";
}

TEST_F(FakeAlpacaServerTest, MalformedRequestTargetIs400) {
  const ClientResult r = Connect()->Get("/v2/stocks/bars?symbols=AAPL%ZZ&timeframe=1Min");
  EXPECT_EQ(r.status, 400);
  ASSERT_EQ(server_.requests().size(), 1u);
  EXPECT_FALSE(server_.requests()[0].target_valid);
}

}  // namespace
}  // namespace mptest
