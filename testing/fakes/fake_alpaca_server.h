#ifndef TESTING_FAKES_FAKE_ALPACA_SERVER_H_
#define TESTING_FAKES_FAKE_ALPACA_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "marketpipe/net/http_types.h"
#include "testing/fakes/url_query.h"

namespace mptest {

// A real HTTP/1.1 server on 127.0.0.1 that speaks Alpaca's v2 bars API, for integration tests of
// the Alpaca provider and the HTTP client. It binds port 0 in the constructor (no free-port race)
// and serves on its own thread, in real time, until Stop() or destruction. The HTTP side is the
// production server, marketpipe::net::HttpServer (keep-alive, parsing, request size limits,
// TLS); the faults write to the connection through its ServerResponse::custom_write hook.
//
//   mptest::FakeAlpacaServer server;
//   server.AddPage({{"AAPL", {{.t = "2024-01-02T14:30:00Z", .o = 187.15, .h = 187.2,
//                              .l = 187.1, .c = 187.18, .v = 1200, .n = 14, .vw = 187.16}}}});
//   server.AddPage({{"AAPL", {...}}});
//   server.InjectOnRequest(0, FakeAlpacaServer::Fault::TooManyRequests(/*retry_after_s=*/1));
//   // Point the code under test at server.base_url() and fetch; then:
//   EXPECT_EQ(server.request_count(), 3u);  // 429, page 0, page 1
//   EXPECT_EQ(server.requests()[2].Query("page_token"), FakeAlpacaServer::PageToken(1));
//
// GET /v2/stocks/bars serves the scripted pages: no (or an empty) page_token selects page 0, and
// page i carries next_page_token = PageToken(i + 1), or null on the last page (with
// SetEndlessPageTokens, a fresh token instead, forever). Before that, in this order: an injected
// fault for this request wins (per index, then per symbol, then the InjectNext queue); a request
// target that is not valid origin-form (Boost.URL) is 400; a path other than /v2/stocks/bars is
// 404; another method is 405; a missing APCA-API-KEY-ID or APCA-API-SECRET-KEY header is 401, a
// wrong one (when Options sets them) 403; a missing `symbols` or `timeframe`, a `limit` outside
// 1..10000 or an unknown page_token is 422. Every error body is {"message": "..."}.
// Connections are kept alive unless the client asks otherwise; any number may be open at once.
//
// Hostile servers, for the client's limits: Fault::SlowDrip (a response a byte at a time),
// Fault::HugeContentLength, Fault::Raw (any bytes at all: bad framing, control characters in
// the status line or headers), Fault::Error with control characters in its message (sent
// JSON-escaped, so they reach the client's string intact), SetEndlessPageTokens (pagination that
// never ends), and backward pages by scripting them (AddPage with earlier timestamps than the
// page before). Options::tls serves HTTPS with a given certificate instead.
//
// Thread-safe: scripting and inspection may happen from any thread while the server runs.
class FakeAlpacaServer {
 public:
  struct Options {
    // Credentials the server requires. Empty: any non-empty value is accepted.
    std::string key_id;
    std::string secret_key;
    // Check the auth headers at all (401/403).
    bool require_auth = true;
    // Check `symbols`, `timeframe` and `limit` (422).
    bool validate_params = true;
    // Serve HTTPS (TLS 1.2+) with this certificate chain and key, both PEM; base_url() is then
    // https://127.0.0.1:<port>. The client must trust the certificate (ca_file or
    // SSL_CERT_FILE), and it must name 127.0.0.1 (subjectAltName IP:127.0.0.1).
    struct Tls {
      std::string certificate_pem;
      std::string private_key_pem;
    };
    std::optional<Tls> tls = std::nullopt;
  };

  // One bar as Alpaca sends it (t is RFC 3339 UTC).
  struct Bar {
    std::string t;
    double o = 0;
    double h = 0;
    double l = 0;
    double c = 0;
    int64_t v = 0;
    int64_t n = 0;
    double vw = 0;
  };
  // Symbol -> its bars on one page, rendered as {"bars":{"SYM":[...]},...} in symbol order.
  using BarsBySymbol = std::map<std::string, std::vector<Bar>>;

  // What to do to one request instead of (or before) serving it.
  struct Fault {
    enum class Kind {
      kNone,               // serve normally (after `latency`)
      kStatus,             // respond `status` with {"message": message} [+ Retry-After]
      kReset,              // close the connection with a TCP RST, no response
      kTruncatedBody,      // send headers with the full Content-Length, half the body, then close
      kMalformedJson,      // 200 with a well-framed body that is not valid JSON
      kSlowDrip,           // serve normally, `drip_bytes` bytes every `drip_interval`
      kHugeContentLength,  // 200 announcing `content_length`, part of the body, then silence
      kRaw,                // send `raw` verbatim, then close
    };
    Kind kind = Kind::kNone;
    int status = 0;
    std::string message;
    std::optional<int> retry_after_seconds;
    // Real time to wait before acting (any kind).
    std::chrono::milliseconds latency{0};
    std::chrono::milliseconds drip_interval{0};
    size_t drip_bytes = 1;
    uint64_t content_length = 0;
    std::string raw;

    // 429 with `Retry-After: <seconds>`.
    static Fault TooManyRequests(int retry_after_seconds);
    // A 5xx (or any status) with {"message": "..."}.
    static Fault ServerError(int status = 503);
    // Any status with {"message": message}, e.g. Error(403, "forbidden.").
    static Fault Error(int status, std::string message);
    // Serve normally, `latency` late.
    static Fault Latency(std::chrono::milliseconds latency);
    static Fault ConnectionReset();
    static Fault TruncatedBody();
    static Fault MalformedJson();
    // The normal response, written `bytes_per_step` bytes at a time with `interval` (real time)
    // in between, until done or the client goes away: a server that never trips a read timeout.
    static Fault SlowDrip(std::chrono::milliseconds interval, size_t bytes_per_step = 1);
    // 200 with `Content-Length: content_length`, the first bytes of the page, then nothing more;
    // the connection stays open until the client closes it (or Stop()).
    static Fault HugeContentLength(uint64_t content_length);
    // Exactly `bytes` on the wire (status line, headers and body as given), then close.
    static Fault Raw(std::string bytes);
    // The same fault, `latency` late.
    Fault WithLatency(std::chrono::milliseconds latency) const;
  };

  // One request as the server parsed it.
  struct RecordedRequest {
    size_t index = 0;       // 0-based, in the order requests were read, across connections
    size_t connection = 0;  // 0-based id of the TCP connection it arrived on
    std::string method;
    std::string target;        // as sent (percent-encoded)
    std::string path;          // target without the query
    QueryParams query;         // percent-decoded, in order
    bool target_valid = true;  // origin-form per Boost.URL (else the reply was 400)
    marketpipe::net::HttpHeaders headers;
    std::string body;
    std::chrono::steady_clock::time_point received_at;

    // The first query parameter named `name` (decoded), if any.
    std::optional<std::string> Query(std::string_view name) const;
  };

  // Binds 127.0.0.1:0 and starts serving; throws std::runtime_error if it cannot bind.
  FakeAlpacaServer();
  explicit FakeAlpacaServer(Options options);
  // Stop()s.
  ~FakeAlpacaServer();

  FakeAlpacaServer(const FakeAlpacaServer&) = delete;
  FakeAlpacaServer& operator=(const FakeAlpacaServer&) = delete;

  // Closes the listener and every connection (pending latency waits are cut short), then joins
  // the server thread. Idempotent; call it from the thread that owns the server.
  void Stop();

  uint16_t port() const;
  std::string host() const { return "127.0.0.1"; }
  // "http://127.0.0.1:<port>" ("https://..." with Options::tls)
  std::string base_url() const;

  // Appends a page built from bars; returns its index.
  size_t AddPage(const BarsBySymbol& bars);
  // Appends a page whose "bars" value is `bars_json` verbatim (either response shape: an object
  // keyed by symbol or the legacy array of bars with "S"); the server adds next_page_token.
  size_t AddPageJson(std::string bars_json);
  // Appends a page served byte for byte as `body` (the caller writes any next_page_token).
  size_t AddRawPage(std::string body);
  // The page_token that selects page `page` (page >= 1): opaque base64 with "==" padding, like
  // Alpaca's, so a client must pass it back exactly (percent-encoded) rather than parse it.
  static std::string PageToken(size_t page);

  // Past the last scripted page, keep paginating: every page carries a fresh next_page_token,
  // and each such token serves the last page again (an empty one if none was added). Any
  // PageToken(i), i >= 1, is then accepted. A client must notice that it is not progressing.
  void SetEndlessPageTokens(bool endless);

  // A page built by AddPage then carries only the bars of the symbols the request names
  // (`symbols`), as Alpaca's do, so one-symbol requests get one symbol's bars. Like Alpaca's, such
  // a page is empty only when it is the last: pages left without bars are skipped (up to one
  // added with AddPageJson or AddRawPage), and its next_page_token names the page after the last
  // one read. Pages added with AddPageJson or AddRawPage are served as they are.
  void SetServeOnlyRequestedSymbols(bool only);

  // Applies `fault` to the request with 0-based index `request_index` (see RecordedRequest).
  void InjectOnRequest(size_t request_index, Fault fault);
  // Applies `fault` to every request whose `symbols` names `symbol` (and that has no per-index
  // fault), until ClearFaults: a server that refuses one symbol of a batch, e.g.
  // InjectForSymbol("BADX", Fault::Error(422, "invalid symbol: BADX")).
  void InjectForSymbol(std::string symbol, Fault fault);
  // Applies `fault` to each of the next `count` requests that have no per-index or per-symbol
  // fault.
  void InjectNext(size_t count, Fault fault);
  // Drops every fault not yet applied.
  void ClearFaults();

  // Copies of every request read so far, in index order.
  std::vector<RecordedRequest> requests() const;
  size_t request_count() const;
  size_t connections_accepted() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mptest

#endif  // TESTING_FAKES_FAKE_ALPACA_SERVER_H_
