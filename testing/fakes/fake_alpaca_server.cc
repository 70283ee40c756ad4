#include "testing/fakes/fake_alpaca_server.h"

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <cstdio>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "marketpipe/net/server/http_server.h"

namespace mptest {
namespace {

namespace http = boost::beast::http;
using marketpipe::net::ServerConnection;
using marketpipe::net::ServerRequest;
using marketpipe::net::ServerResponse;

constexpr std::string_view kBarsPath = "/v2/stocks/bars";

// Well framed, not valid JSON: a value is missing after "h".
constexpr std::string_view kMalformedJson =
    R"({"bars":{"AAPL":[{"t":"2024-01-02T14:30:00Z","o":187.15,"h":]},"next_page_token":null})";

std::string ToStd(boost::core::string_view s) { return std::string(s.data(), s.size()); }

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

// Shortest text that reads back as the same double.
std::string JsonNumber(double d) {
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, result.ptr);
}

std::string RenderBars(const FakeAlpacaServer::BarsBySymbol& bars) {
  std::string out = "{";
  bool first_symbol = true;
  for (const auto& [symbol, list] : bars) {
    if (!first_symbol) out += ',';
    first_symbol = false;
    absl::StrAppend(&out, JsonString(symbol), ":[");
    for (size_t i = 0; i < list.size(); ++i) {
      const FakeAlpacaServer::Bar& b = list[i];
      if (i > 0) out += ',';
      absl::StrAppend(&out, "{\"t\":", JsonString(b.t), ",\"o\":", JsonNumber(b.o),
                      ",\"h\":", JsonNumber(b.h), ",\"l\":", JsonNumber(b.l),
                      ",\"c\":", JsonNumber(b.c), ",\"v\":", b.v, ",\"n\":", b.n,
                      ",\"vw\":", JsonNumber(b.vw), "}");
    }
    out += ']';
  }
  out += '}';
  return out;
}

std::string MessageBody(std::string_view message) {
  return absl::StrCat("{\"message\":", JsonString(message), "}");
}

// What the server decided to send for one request.
struct Reply {
  Reply() = default;
  Reply(int s, std::string b, std::optional<int> retry_after = std::nullopt)
      : status(s), body(std::move(b)), retry_after_seconds(retry_after) {}

  ServerResponse ToResponse() && {
    ServerResponse r;
    r.status = status;
    r.content_type = "application/json";
    if (retry_after_seconds) r.headers.Set("Retry-After", std::to_string(*retry_after_seconds));
    r.body = std::move(body);
    return r;
  }

  int status = 200;
  std::string body;
  std::optional<int> retry_after_seconds;
};

// Writes `bytes` in steps of fault.drip_bytes, fault.drip_interval apart. False when the client
// went away or the server is stopping.
boost::asio::awaitable<bool> Drip(ServerConnection& conn, const std::string& bytes,
                                  size_t step_bytes, std::chrono::milliseconds interval) {
  for (size_t at = 0; at < bytes.size(); at += step_bytes) {
    const size_t n = std::min(step_bytes, bytes.size() - at);
    if (!co_await conn.Write(std::string_view(bytes).substr(at, n))) co_return false;
    if (!co_await conn.Sleep(interval)) co_return false;
  }
  co_return true;
}

}  // namespace

// --- Fault ---------------------------------------------------------------------------------------

FakeAlpacaServer::Fault FakeAlpacaServer::Fault::TooManyRequests(int retry_after_seconds) {
  Fault f = Error(429, "too many requests.");
  f.retry_after_seconds = retry_after_seconds;
  return f;
}

FakeAlpacaServer::Fault FakeAlpacaServer::Fault::ServerError(int status) {
  std::string reason = ToStd(http::obsolete_reason(static_cast<http::status>(status)));
  for (char& c : reason) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return Error(status, reason);
}

FakeAlpacaServer::Fault FakeAlpacaServer::Fault::Error(int status, std::string message) {
  Fault f;
  f.kind = Kind::kStatus;
  f.status = status;
  f.message = std::move(message);
  return f;
}

FakeAlpacaServer::Fault FakeAlpacaServer::Fault::Latency(std::chrono::milliseconds latency) {
  Fault f;
  f.latency = latency;
  return f;
}

FakeAlpacaServer::Fault FakeAlpacaServer::Fault::ConnectionReset() {
  Fault f;
  f.kind = Kind::kReset;
  return f;
}

FakeAlpacaServer::Fault FakeAlpacaServer::Fault::TruncatedBody() {
  Fault f;
  f.kind = Kind::kTruncatedBody;
  return f;
}

FakeAlpacaServer::Fault FakeAlpacaServer::Fault::MalformedJson() {
  Fault f;
  f.kind = Kind::kMalformedJson;
  return f;
}

FakeAlpacaServer::Fault FakeAlpacaServer::Fault::WithLatency(
    std::chrono::milliseconds latency) const {
  Fault f = *this;
  f.latency = latency;
  return f;
}

FakeAlpacaServer::Fault FakeAlpacaServer::Fault::SlowDrip(std::chrono::milliseconds interval,
                                                          size_t bytes_per_step) {
  Fault f;
  f.kind = Kind::kSlowDrip;
  f.drip_interval = interval;
  f.drip_bytes = bytes_per_step == 0 ? 1 : bytes_per_step;
  return f;
}

FakeAlpacaServer::Fault FakeAlpacaServer::Fault::HugeContentLength(uint64_t content_length) {
  Fault f;
  f.kind = Kind::kHugeContentLength;
  f.content_length = content_length;
  return f;
}

FakeAlpacaServer::Fault FakeAlpacaServer::Fault::Raw(std::string bytes) {
  Fault f;
  f.kind = Kind::kRaw;
  f.raw = std::move(bytes);
  return f;
}

std::optional<std::string> FakeAlpacaServer::RecordedRequest::Query(std::string_view name) const {
  return FindQueryParam(query, name);
}

// --- Impl ----------------------------------------------------------------------------------------

// The HTTP side is marketpipe::net::HttpServer, the production server: this adds the bars API,
// the scripted pages and the faults (through ServerResponse::custom_write).
struct FakeAlpacaServer::Impl {
  struct Page {
    std::string content;  // the "bars" value, or the whole body when raw
    bool raw = false;
    std::optional<BarsBySymbol> bars;  // AddPage's, for serving only the requested symbols
  };

  explicit Impl(Options o) : options(std::move(o)), server(ServerOptions(options)) {}

  static marketpipe::net::HttpServer::Options ServerOptions(const Options& options);
  boost::asio::awaitable<ServerResponse> Handle(ServerRequest request);
  // Records the request and picks what to do with it (under mu).
  std::pair<RecordedRequest, std::optional<Fault>> Record(ServerRequest request);
  Reply Route(const RecordedRequest& r) const;
  // Needs mu. `symbols`: the request's, when only those are to be served.
  std::string PageBody(size_t page, const std::optional<std::string>& symbols) const;

  const Options options;

  mutable std::mutex mu;
  std::vector<Page> pages;
  std::map<size_t, Fault> faults_by_index;
  std::deque<Fault> next_faults;
  std::map<std::string, Fault> symbol_faults;
  bool only_requested_symbols = false;
  std::vector<RecordedRequest> recorded;
  bool endless_tokens = false;

  // Last: it stops (and joins its thread) before the state its handler uses goes away.
  marketpipe::net::HttpServer server;
};

marketpipe::net::HttpServer::Options FakeAlpacaServer::Impl::ServerOptions(const Options& options) {
  marketpipe::net::HttpServer::Options o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.server_name = "marketpipe-fake-alpaca";
  // A fake holds no client to a deadline: tests decide how long a connection idles or a fault
  // lasts (the client under test owns its timeouts).
  o.header_timeout = std::chrono::hours(24);
  o.body_timeout = std::chrono::hours(24);
  o.write_timeout = std::chrono::hours(24);
  if (options.tls) {
    o.tls = marketpipe::net::HttpServer::Options::Tls{options.tls->certificate_pem,
                                                      options.tls->private_key_pem};
  }
  return o;
}

// The page a PageToken() names, if it is one.
std::optional<size_t> PageOfToken(std::string_view token) {
  std::string raw;
  if (!absl::Base64Unescape(absl::string_view(token.data(), token.size()), &raw)) {
    return std::nullopt;
  }
  constexpr std::string_view kPrefix = "marketpipe-page|";
  if (raw.size() <= kPrefix.size() || raw.compare(0, kPrefix.size(), kPrefix) != 0) {
    return std::nullopt;
  }
  size_t page = 0;
  const char* begin = raw.data() + kPrefix.size();
  const char* end = raw.data() + raw.size();
  const auto [ptr, ec] = std::from_chars(begin, end, page);
  if (ec != std::errc() || ptr != end || page == 0 || FakeAlpacaServer::PageToken(page) != token) {
    return std::nullopt;
  }
  return page;
}

std::pair<FakeAlpacaServer::RecordedRequest, std::optional<FakeAlpacaServer::Fault>>
FakeAlpacaServer::Impl::Record(ServerRequest request) {
  RecordedRequest r;
  r.connection = request.connection;
  r.method = std::move(request.method);
  r.target = std::move(request.target);
  r.path = std::string(TargetPath(r.target));
  if (auto query = ParseQueryChecked(r.target)) {
    r.query = std::move(*query);
  } else {
    r.target_valid = false;
  }
  r.headers = std::move(request.headers);
  r.body = std::move(request.body);
  r.received_at = std::chrono::steady_clock::now();

  std::optional<Fault> fault;
  std::lock_guard<std::mutex> lock(mu);
  r.index = recorded.size();
  const std::optional<std::string> symbols = FindQueryParam(r.query, "symbols");
  auto named_symbol_fault = [&]() -> const Fault* {
    if (!symbols || symbol_faults.empty()) return nullptr;
    for (absl::string_view symbol : absl::StrSplit(*symbols, ',')) {
      if (auto it = symbol_faults.find(std::string(symbol)); it != symbol_faults.end()) {
        return &it->second;
      }
    }
    return nullptr;
  };
  if (auto it = faults_by_index.find(r.index); it != faults_by_index.end()) {
    fault = std::move(it->second);
    faults_by_index.erase(it);
  } else if (const Fault* f = named_symbol_fault()) {
    fault = *f;
  } else if (!next_faults.empty()) {
    fault = std::move(next_faults.front());
    next_faults.pop_front();
  }
  recorded.push_back(r);
  return {std::move(r), std::move(fault)};
}

std::string FakeAlpacaServer::Impl::PageBody(size_t page,
                                             const std::optional<std::string>& symbols) const {
  auto next_token = [&](size_t served) {
    const bool more = served + 1 < pages.size() || endless_tokens;
    return more ? JsonString(FakeAlpacaServer::PageToken(served + 1)) : std::string("null");
  };
  if (pages.empty()) return absl::StrCat(R"({"bars":{},"next_page_token":)", next_token(page), "}");
  // Past the last page (endless tokens): the last page's bars, with a fresh token.
  const Page& p = pages[std::min(page, pages.size() - 1)];
  if (p.raw) return p.content;
  if (!only_requested_symbols || !p.bars || !symbols || page >= pages.size()) {
    return absl::StrCat("{\"bars\":", p.content, ",\"next_page_token\":", next_token(page), "}");
  }
  // Only the requested symbols' bars. Like Alpaca, a page is empty only when it is the last:
  // pages left with none of them are skipped, and the token names the page after the last one
  // read.
  std::vector<std::string> wanted = absl::StrSplit(*symbols, ',');
  BarsBySymbol requested;
  for (;; ++page) {
    if (pages[page].bars) {
      for (const std::string& symbol : wanted) {
        if (auto it = pages[page].bars->find(symbol); it != pages[page].bars->end()) {
          requested.insert(*it);
        }
      }
    }
    if (!requested.empty() || page + 1 >= pages.size() || !pages[page + 1].bars) break;
  }
  return absl::StrCat("{\"bars\":", RenderBars(requested),
                      ",\"next_page_token\":", next_token(page), "}");
}

Reply FakeAlpacaServer::Impl::Route(const RecordedRequest& r) const {
  if (!r.target_valid) return {400, MessageBody("malformed request target.")};
  if (r.path != kBarsPath) return {404, MessageBody("endpoint not found.")};
  if (r.method != "GET") return {405, MessageBody("method not allowed.")};
  if (options.require_auth) {
    const auto key = r.headers.Get("APCA-API-KEY-ID");
    const auto secret = r.headers.Get("APCA-API-SECRET-KEY");
    if (!key || key->empty() || !secret || secret->empty()) {
      return {401, MessageBody("unauthorized.")};
    }
    if ((!options.key_id.empty() && *key != options.key_id) ||
        (!options.secret_key.empty() && *secret != options.secret_key)) {
      return {403, MessageBody("forbidden.")};
    }
  }
  if (options.validate_params) {
    for (const char* required : {"symbols", "timeframe"}) {
      const auto value = FindQueryParam(r.query, required);
      if (!value || value->empty()) {
        return {422, MessageBody(absl::StrCat("missing required query parameter: ", required))};
      }
    }
    if (const auto limit = FindQueryParam(r.query, "limit")) {
      int n = 0;
      const auto [ptr, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
      if (ec != std::errc() || ptr != limit->data() + limit->size() || n < 1 || n > 10000) {
        return {422, MessageBody("invalid limit: must be 1..10000")};
      }
    }
  }

  std::lock_guard<std::mutex> lock(mu);
  size_t page = 0;
  if (const auto token = FindQueryParam(r.query, "page_token"); token && !token->empty()) {
    const std::optional<size_t> named = PageOfToken(*token);
    if (!named || (!endless_tokens && *named >= pages.size())) {
      return {422, MessageBody("invalid page_token")};
    }
    page = *named;
  }
  return {200, PageBody(page, FindQueryParam(r.query, "symbols"))};
}

boost::asio::awaitable<ServerResponse> FakeAlpacaServer::Impl::Handle(ServerRequest request) {
  auto [recorded_request, recorded_fault] = Record(std::move(request));
  const Fault fault = recorded_fault.value_or(Fault());
  Reply reply;
  switch (fault.kind) {
    case Fault::Kind::kMalformedJson:
      reply = {200, std::string(kMalformedJson)};
      break;
    case Fault::Kind::kStatus:
      reply = {fault.status, MessageBody(fault.message), fault.retry_after_seconds};
      break;
    case Fault::Kind::kReset:
    case Fault::Kind::kRaw:
      break;  // nothing of a normal response goes out
    case Fault::Kind::kNone:
    case Fault::Kind::kSlowDrip:
    case Fault::Kind::kTruncatedBody:
    case Fault::Kind::kHugeContentLength:
      reply = Route(recorded_request);
      break;
  }
  ServerResponse response = std::move(reply).ToResponse();
  if (fault.kind == Fault::Kind::kNone && fault.latency == std::chrono::milliseconds::zero()) {
    co_return response;
  }
  // Everything else writes to the connection itself. The closure lives in the response while
  // the server awaits it.
  response.custom_write =
      [fault, normal = response](ServerConnection& conn) -> boost::asio::awaitable<bool> {
    if (fault.latency > std::chrono::milliseconds::zero() && !co_await conn.Sleep(fault.latency)) {
      co_return false;
    }
    switch (fault.kind) {
      case Fault::Kind::kReset:
        conn.Close(/*reset=*/true);  // the client sees "connection reset by peer"
        co_return false;
      case Fault::Kind::kTruncatedBody: {
        // The full head (its Content-Length counts the whole body), then half the body.
        const std::string wire = conn.Serialize(normal);
        const size_t head = wire.size() - normal.body.size();
        co_await conn.Write(std::string_view(wire).substr(0, head + normal.body.size() / 2));
        conn.Close(/*reset=*/false);
        co_return false;
      }
      case Fault::Kind::kHugeContentLength: {
        const std::string wire = absl::StrCat(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ",
            fault.content_length, "\r\n\r\n", normal.body.substr(0, normal.body.size() / 2));
        // Then silence: hold the connection until the client gives up on it.
        if (co_await conn.Write(wire)) co_await conn.DrainUntilClosed();
        co_return false;
      }
      case Fault::Kind::kRaw:
        co_await conn.Write(fault.raw);
        conn.Close(/*reset=*/false);
        co_return false;
      case Fault::Kind::kSlowDrip: {
        const std::string wire = conn.Serialize(normal);
        if (!co_await Drip(conn, wire, fault.drip_bytes, fault.drip_interval)) co_return false;
        co_return conn.keep_alive();
      }
      case Fault::Kind::kNone:
      case Fault::Kind::kStatus:
      case Fault::Kind::kMalformedJson:
        break;
    }
    co_return co_await conn.Write(conn.Serialize(normal)) && conn.keep_alive();
  };
  co_return response;
}

// --- FakeAlpacaServer ----------------------------------------------------------------------------

FakeAlpacaServer::FakeAlpacaServer() : FakeAlpacaServer(Options()) {}

FakeAlpacaServer::FakeAlpacaServer(Options options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  Impl* impl = impl_.get();
  impl->server.HandleUnrouted(
      [impl](ServerRequest request) { return impl->Handle(std::move(request)); });
  if (const absl::Status s = impl->server.Start(); !s.ok()) {
    throw std::runtime_error(absl::StrCat("FakeAlpacaServer: ", s.message()));
  }
}

FakeAlpacaServer::~FakeAlpacaServer() { Stop(); }

void FakeAlpacaServer::Stop() { impl_->server.Stop(); }

uint16_t FakeAlpacaServer::port() const { return impl_->server.port(); }

std::string FakeAlpacaServer::base_url() const { return impl_->server.base_url(); }

void FakeAlpacaServer::SetEndlessPageTokens(bool endless) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->endless_tokens = endless;
}

size_t FakeAlpacaServer::AddPage(const BarsBySymbol& bars) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->pages.push_back({RenderBars(bars), false, bars});
  return impl_->pages.size() - 1;
}

void FakeAlpacaServer::SetServeOnlyRequestedSymbols(bool only) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->only_requested_symbols = only;
}

void FakeAlpacaServer::InjectForSymbol(std::string symbol, Fault fault) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->symbol_faults[std::move(symbol)] = std::move(fault);
}

size_t FakeAlpacaServer::AddPageJson(std::string bars_json) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->pages.push_back({std::move(bars_json), false, std::nullopt});
  return impl_->pages.size() - 1;
}

size_t FakeAlpacaServer::AddRawPage(std::string body) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->pages.push_back({std::move(body), true, std::nullopt});
  return impl_->pages.size() - 1;
}

std::string FakeAlpacaServer::PageToken(size_t page) {
  // Base64 like Alpaca's tokens. 22 bytes (for pages below 10^6) always encode with "=="
  // padding, so a client that forgets to percent-encode the token gets a 422.
  char raw[48];  // room for any size_t (GCC -O2 checks the bound)
  std::snprintf(raw, sizeof raw, "marketpipe-page|%06zu", page);
  return absl::Base64Escape(raw);
}

void FakeAlpacaServer::InjectOnRequest(size_t request_index, Fault fault) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->faults_by_index[request_index] = std::move(fault);
}

void FakeAlpacaServer::InjectNext(size_t count, Fault fault) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (size_t i = 0; i < count; ++i) impl_->next_faults.push_back(fault);
}

void FakeAlpacaServer::ClearFaults() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->faults_by_index.clear();
  impl_->next_faults.clear();
  impl_->symbol_faults.clear();
}

std::vector<FakeAlpacaServer::RecordedRequest> FakeAlpacaServer::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->recorded;
}

size_t FakeAlpacaServer::request_count() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->recorded.size();
}

size_t FakeAlpacaServer::connections_accepted() const {
  return impl_->server.connections_accepted();
}

}  // namespace mptest
