#include "testing/fakes/fake_alpaca_server.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <cstdio>
#include <deque>
#include <exception>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace mptest {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

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

  int status = 200;
  std::string body;
  std::optional<int> retry_after_seconds;
};

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

struct FakeAlpacaServer::Impl {
  // One accepted connection. Owned by its session coroutine; listed in `connections` (io thread
  // only) so Stop() can close it.
  struct Connection {
    Connection(tcp::socket s, size_t id_in)
        : socket(std::move(s)), timer(socket.get_executor()), id(id_in) {}
    tcp::socket socket;
    asio::steady_timer timer;
    size_t id;
  };

  struct Page {
    std::string content;  // the "bars" value, or the whole body when raw
    bool raw = false;
  };

  explicit Impl(Options o) : options(std::move(o)) {}

  asio::awaitable<void> Accept();
  asio::awaitable<void> Serve(std::shared_ptr<Connection> conn);
  template <class Stream>
  asio::awaitable<void> ServeRequests(std::shared_ptr<Connection> conn, Stream& stream);
  // Writes `bytes` in steps of fault.drip_bytes, fault.drip_interval apart. False when the
  // client went away or the server is stopping.
  template <class Stream>
  asio::awaitable<bool> Drip(Connection& conn, Stream& stream, const std::string& bytes,
                             const Fault& fault);
  // Records the request and picks what to do with it (under mu).
  std::pair<RecordedRequest, std::optional<Fault>> Record(
      const http::request<http::string_body>& req, size_t connection);
  Reply Route(const RecordedRequest& r) const;
  std::string PageBody(size_t page) const;  // needs mu

  const Options options;
  std::unique_ptr<ssl::context> tls_context;  // with Options::tls
  asio::io_context io;
  tcp::acceptor acceptor{io};
  uint16_t port = 0;
  std::thread thread;
  bool stopped = false;  // owner thread only

  // io thread only.
  bool stopping = false;
  std::set<std::shared_ptr<Connection>> connections;

  mutable std::mutex mu;
  std::vector<Page> pages;
  std::map<size_t, Fault> faults_by_index;
  std::deque<Fault> next_faults;
  std::vector<RecordedRequest> recorded;
  size_t connection_count = 0;
  bool endless_tokens = false;
};

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

asio::awaitable<void> FakeAlpacaServer::Impl::Accept() {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping) co_return;
      continue;  // e.g. the peer went away before accept; keep listening
    }
    size_t id;
    {
      std::lock_guard<std::mutex> lock(mu);
      id = connection_count++;
    }
    auto conn = std::make_shared<Connection>(std::move(socket), id);
    asio::co_spawn(io, Serve(conn), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "FakeAlpacaServer: connection failed: %s\n", ex.what());
      }
    });
  }
}

std::pair<FakeAlpacaServer::RecordedRequest, std::optional<FakeAlpacaServer::Fault>>
FakeAlpacaServer::Impl::Record(const http::request<http::string_body>& req, size_t connection) {
  RecordedRequest r;
  r.connection = connection;
  r.method = ToStd(req.method_string());
  r.target = ToStd(req.target());
  r.path = std::string(TargetPath(r.target));
  if (auto query = ParseQueryChecked(r.target)) {
    r.query = std::move(*query);
  } else {
    r.target_valid = false;
  }
  for (const auto& field : req) r.headers.Add(ToStd(field.name_string()), ToStd(field.value()));
  r.body = req.body();
  r.received_at = std::chrono::steady_clock::now();

  std::optional<Fault> fault;
  std::lock_guard<std::mutex> lock(mu);
  r.index = recorded.size();
  if (auto it = faults_by_index.find(r.index); it != faults_by_index.end()) {
    fault = std::move(it->second);
    faults_by_index.erase(it);
  } else if (!next_faults.empty()) {
    fault = std::move(next_faults.front());
    next_faults.pop_front();
  }
  recorded.push_back(r);
  return {std::move(r), std::move(fault)};
}

std::string FakeAlpacaServer::Impl::PageBody(size_t page) const {
  const bool more = page + 1 < pages.size() || endless_tokens;
  const std::string next = more ? JsonString(FakeAlpacaServer::PageToken(page + 1)) : "null";
  if (pages.empty()) return absl::StrCat(R"({"bars":{},"next_page_token":)", next, "}");
  const Page& p = pages[std::min(page, pages.size() - 1)];
  if (p.raw) return p.content;
  return absl::StrCat("{\"bars\":", p.content, ",\"next_page_token\":", next, "}");
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
  return {200, PageBody(page)};
}

asio::awaitable<void> FakeAlpacaServer::Impl::Serve(std::shared_ptr<Connection> conn) {
  if (stopping) co_return;
  connections.insert(conn);
  struct Unlist {
    Impl* impl;
    std::shared_ptr<Connection> conn;
    ~Unlist() { impl->connections.erase(conn); }
  } unlist{this, conn};

  if (!tls_context) {
    co_await ServeRequests(conn, conn->socket);
    co_return;
  }
  // Over the connection's own socket, so Stop() closing it ends the TLS session too.
  ssl::stream<tcp::socket&> stream(conn->socket, *tls_context);
  boost::system::error_code ec;
  co_await stream.async_handshake(ssl::stream_base::server,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;  // e.g. the client rejected the certificate
  co_await ServeRequests(conn, stream);
}

template <class Stream>
asio::awaitable<bool> FakeAlpacaServer::Impl::Drip(Connection& conn, Stream& stream,
                                                   const std::string& bytes, const Fault& fault) {
  boost::system::error_code ec;
  for (size_t at = 0; at < bytes.size(); at += fault.drip_bytes) {
    const size_t n = std::min(fault.drip_bytes, bytes.size() - at);
    co_await asio::async_write(stream, asio::buffer(bytes.data() + at, n),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec || stopping) co_return false;
    conn.timer.expires_after(fault.drip_interval);
    co_await conn.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || stopping) co_return false;
  }
  co_return true;
}

template <class Stream>
asio::awaitable<void> FakeAlpacaServer::Impl::ServeRequests(std::shared_ptr<Connection> conn,
                                                            Stream& stream) {
  boost::beast::flat_buffer buffer;
  for (;;) {
    boost::system::error_code ec;
    http::request_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // end of stream, reset, garbage or Stop(): nothing more to serve
    const http::request<http::string_body> req = parser.release();
    auto [recorded_request, fault] = Record(req, conn->id);

    if (fault && fault->latency > std::chrono::milliseconds::zero()) {
      conn->timer.expires_after(fault->latency);
      co_await conn->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec || stopping) co_return;
    }

    Reply reply;
    const Fault::Kind kind = fault ? fault->kind : Fault::Kind::kNone;
    switch (kind) {
      case Fault::Kind::kReset: {
        // SO_LINGER 0 turns close() into a RST: the client sees "connection reset by peer".
        conn->socket.set_option(tcp::socket::linger(true, 0), ec);
        conn->socket.close(ec);
        co_return;
      }
      case Fault::Kind::kTruncatedBody: {
        const Reply full = Route(recorded_request);
        std::string raw = absl::StrCat(
            "HTTP/1.1 ", full.status, " ",
            ToStd(http::obsolete_reason(static_cast<http::status>(full.status))),
            "\r\nContent-Type: application/json\r\n", "Content-Length: ", full.body.size(),
            "\r\n\r\n", full.body.substr(0, full.body.size() / 2));
        co_await asio::async_write(stream, asio::buffer(raw),
                                   asio::redirect_error(asio::use_awaitable, ec));
        conn->socket.shutdown(tcp::socket::shutdown_both, ec);
        conn->socket.close(ec);
        co_return;
      }
      case Fault::Kind::kHugeContentLength: {
        const Reply full = Route(recorded_request);
        std::string raw = absl::StrCat("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n",
                                       "Content-Length: ", fault->content_length, "\r\n\r\n",
                                       full.body.substr(0, full.body.size() / 2));
        co_await asio::async_write(stream, asio::buffer(raw),
                                   asio::redirect_error(asio::use_awaitable, ec));
        // Then silence: hold the connection until the client gives up on it.
        char sink[512];
        while (!ec && !stopping) {
          co_await stream.async_read_some(asio::buffer(sink),
                                          asio::redirect_error(asio::use_awaitable, ec));
        }
        co_return;
      }
      case Fault::Kind::kRaw:
        co_await asio::async_write(stream, asio::buffer(fault->raw),
                                   asio::redirect_error(asio::use_awaitable, ec));
        conn->socket.shutdown(tcp::socket::shutdown_both, ec);
        conn->socket.close(ec);
        co_return;
      case Fault::Kind::kMalformedJson:
        reply = {200, std::string(kMalformedJson)};
        break;
      case Fault::Kind::kStatus:
        reply = {fault->status, MessageBody(fault->message), fault->retry_after_seconds};
        break;
      case Fault::Kind::kNone:
      case Fault::Kind::kSlowDrip:
        reply = Route(recorded_request);
        break;
    }

    http::response<http::string_body> res(static_cast<http::status>(reply.status), req.version());
    res.set(http::field::server, "marketpipe-fake-alpaca");
    res.set(http::field::content_type, "application/json");
    if (reply.retry_after_seconds) {
      res.set(http::field::retry_after, std::to_string(*reply.retry_after_seconds));
    }
    res.keep_alive(req.keep_alive());
    res.body() = std::move(reply.body);
    res.prepare_payload();
    if (kind == Fault::Kind::kSlowDrip) {
      std::ostringstream wire;
      wire << res;
      if (!co_await Drip(*conn, stream, wire.str(), *fault)) co_return;
    } else {
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
    }
    if (!res.keep_alive()) {
      conn->socket.shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
  }
}

// --- FakeAlpacaServer ----------------------------------------------------------------------------

FakeAlpacaServer::FakeAlpacaServer() : FakeAlpacaServer(Options()) {}

FakeAlpacaServer::FakeAlpacaServer(Options options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  boost::system::error_code ec;
  if (const auto& tls = impl_->options.tls) {
    auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1);
    context->use_certificate_chain(asio::buffer(tls->certificate_pem), ec);
    if (!ec) context->use_private_key(asio::buffer(tls->private_key_pem), ssl::context::pem, ec);
    if (ec) {
      throw std::runtime_error(
          absl::StrCat("FakeAlpacaServer: unusable TLS certificate or key: ", ec.message()));
    }
    impl_->tls_context = std::move(context);
  }
  const tcp::endpoint endpoint(asio::ip::make_address_v4("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error(
        absl::StrCat("FakeAlpacaServer: cannot listen on 127.0.0.1:0: ", ec.message()));
  }
  impl_->port = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->io, impl_->Accept(), asio::detached);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

FakeAlpacaServer::~FakeAlpacaServer() { Stop(); }

void FakeAlpacaServer::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  asio::post(impl_->io, [impl = impl_.get()] {
    impl->stopping = true;
    boost::system::error_code ec;
    impl->acceptor.close(ec);
    for (const auto& conn : impl->connections) {
      conn->timer.cancel();
      conn->socket.shutdown(tcp::socket::shutdown_both, ec);
      conn->socket.close(ec);
    }
  });
  // Every coroutine ends once its socket or timer is closed, so run() returns on its own.
  impl_->thread.join();
}

uint16_t FakeAlpacaServer::port() const { return impl_->port; }

std::string FakeAlpacaServer::base_url() const {
  return absl::StrCat(impl_->tls_context ? "https" : "http", "://127.0.0.1:", impl_->port);
}

void FakeAlpacaServer::SetEndlessPageTokens(bool endless) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->endless_tokens = endless;
}

size_t FakeAlpacaServer::AddPage(const BarsBySymbol& bars) { return AddPageJson(RenderBars(bars)); }

size_t FakeAlpacaServer::AddPageJson(std::string bars_json) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->pages.push_back({std::move(bars_json), false});
  return impl_->pages.size() - 1;
}

size_t FakeAlpacaServer::AddRawPage(std::string body) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->pages.push_back({std::move(body), true});
  return impl_->pages.size() - 1;
}

std::string FakeAlpacaServer::PageToken(size_t page) {
  // Base64 like Alpaca's tokens. 22 bytes (for pages below 10^6) always encode with "=="
  // padding, so a client that forgets to percent-encode the token gets a 422.
  char raw[32];
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
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->connection_count;
}

}  // namespace mptest
