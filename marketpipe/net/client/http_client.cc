#include "marketpipe/net/client/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "marketpipe/net/client/response_reader.h"

namespace marketpipe::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::awaitable;
using asio::ip::tcp;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;

using Duration = TimeSource::Duration;
using Message = http::request<http::string_body>;

// Failures come back as values: only the watchdog's cancellation may throw, and that is expected.
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
constexpr uint32_t kHeaderLimit = 64 * 1024;
// Bytes asked of the socket per read.
constexpr size_t kReadChunk = 64 * 1024;

std::string DurationText(Duration d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return ms % 1000 == 0 ? absl::StrCat(ms / 1000, "s") : absl::StrCat(ms, "ms");
}

// The host without IPv6 brackets, as the resolver, SNI and certificate checks want it.
std::string BareHost(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

bool IsIpLiteral(const std::string& bare_host) {
  error_code ec;
  asio::ip::make_address(bare_host, ec);
  return !ec;
}

// "host:port", with IPv6 literals in brackets.
std::string HostPort(const HttpRequest& r) {
  const std::string host = BareHost(r.host);
  return host.find(':') != std::string::npos ? absl::StrCat("[", host, "]:", r.port)
                                             : absl::StrCat(host, ":", r.port);
}

std::string HostHeader(const HttpRequest& r) {
  const bool default_port =
      (r.scheme == "https" && r.port == 443) || (r.scheme == "http" && r.port == 80);
  if (!default_port) return HostPort(r);
  const std::string host = BareHost(r.host);
  return host.find(':') != std::string::npos ? absl::StrCat("[", host, "]") : host;
}

// " (GET https://host/target)": appended to every error. Never contains a header value.
std::string Where(const HttpRequest& r) { return absl::StrCat(" (", r.method, " ", r.Url(), ")"); }

std::string PoolKey(const HttpRequest& r) {
  return absl::StrCat(r.scheme, "://", BareHost(r.host), ":", r.port);
}

// Safe to send twice (RFC 9110 9.2.2), and carrying no body that a retry would resend.
bool IsReplayable(const HttpRequest& r) {
  return r.body.empty() &&
         (r.method == "GET" || r.method == "HEAD" || r.method == "OPTIONS" || r.method == "TRACE");
}

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

bool HasControlChar(std::string_view s, bool allow_tab) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && !(allow_tab && c == '\t')) || u == 0x7f) return true;
  }
  return false;
}

// Rejects what would let a request smuggle bytes onto the wire. Messages name a bad header field
// but never show its value.
absl::Status Validate(const HttpRequest& r) {
  if (r.scheme != "http" && r.scheme != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported URL scheme \"", r.scheme, "\" (want http or https)", Where(r)));
  }
  if (r.host.empty() || HasControlChar(r.host, false) ||
      r.host.find_first_of(" /?#@") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("invalid host", Where(r)));
  }
  if (r.port == 0) return absl::InvalidArgumentError(absl::StrCat("invalid port 0", Where(r)));
  if (!IsToken(r.method))
    return absl::InvalidArgumentError(absl::StrCat("invalid method", Where(r)));
  if (r.target.empty() || r.target.front() != '/' || HasControlChar(r.target, false) ||
      r.target.find(' ') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid request target (want an encoded path starting with /)", Where(r)));
  }
  for (const auto& [name, value] : r.headers.fields()) {
    if (!IsToken(name)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid header field name", Where(r)));
    }
    if (HasControlChar(value, true)) {
      return absl::InvalidArgumentError(
          absl::StrCat("control character in the value of header field ", name, Where(r)));
    }
  }
  return absl::OkStatus();
}

Message BuildMessage(const HttpRequest& r, const std::string& user_agent) {
  Message m;
  const http::verb verb = http::string_to_verb(r.method);
  if (verb == http::verb::unknown) {
    m.method_string(r.method);
  } else {
    m.method(verb);
  }
  m.target(r.target);
  m.version(11);
  m.set(http::field::host, HostHeader(r));
  for (const auto& [name, value] : r.headers.fields()) {
    if (absl::EqualsIgnoreCase(name, "host")) {
      m.set(http::field::host, value);
    } else {
      m.insert(name, value);
    }
  }
  if (!r.headers.Get("User-Agent")) m.set(http::field::user_agent, user_agent);
  m.body() = r.body;
  m.prepare_payload();
  return m;
}

// True when a pooled socket still looks usable: nothing to read and no FIN or RST from the peer.
// An idle HTTP/1.1 connection has nothing to say; bytes or EOF here mean the server gave up on it.
bool LooksOpen(tcp::socket& socket) {
  if (!socket.is_open()) return false;
  char byte;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// Chain verification by OpenSSL, then the host name (RFC 6125) on the leaf. A mismatch is
// recorded as X509_V_ERR_HOSTNAME_MISMATCH so the error message can say so.
class VerifyHostName {
 public:
  explicit VerifyHostName(std::string host) : check_(std::move(host)) {}
  bool operator()(bool preverified, ssl::verify_context& ctx) const {
    if (!preverified) return false;
    if (check_(preverified, ctx)) return true;
    X509_STORE_CTX_set_error(ctx.native_handle(), X509_V_ERR_HOSTNAME_MISMATCH);
    return false;
  }

 private:
  ssl::host_name_verification check_;
};

struct Connection {
  Connection(const asio::any_io_executor& executor, ssl::context* tls_context) {
    if (tls_context) {
      tls = std::make_unique<ssl::stream<tcp::socket>>(executor, *tls_context);
    } else {
      plain = std::make_unique<tcp::socket>(executor);
    }
  }
  tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }
  void Close() {
    error_code ignored;
    socket().close(ignored);
  }

  std::unique_ptr<tcp::socket> plain;
  std::unique_ptr<ssl::stream<tcp::socket>> tls;
  TimeSource::TimePoint idle_since{};
  bool reused = false;
};

// A timeout shared by one sequence of socket operations and the watchdog racing it. Operations
// push `at` back as they make progress, never past `limit` (the attempt's request_timeout); on
// expiry the watchdog runs `on_expire`, which makes the pending operation fail at once (closing
// the socket works for every kind of operation, whether or not it supports per-operation
// cancellation).
struct Deadline {
  Deadline(TimeSource::TimePoint at_in, TimeSource::TimePoint limit_in)
      : at(std::min(at_in, limit_in)), limit(limit_in) {}
  void PushTo(TimeSource::TimePoint t) { at = std::min(t, limit); }
  // The attempt's own deadline, rather than a phase timeout, is what ran out.
  bool hit_limit() const { return at >= limit; }

  TimeSource::TimePoint at;
  TimeSource::TimePoint limit;
  const char* phase = "";
  std::function<void()> on_expire;
  bool expired = false;
  bool operations_done = false;
};

// Sleeps on the injected clock until `d.at` passes without having been pushed back.
awaitable<void> Watch(TimeSource& time, Deadline& d) {
  try {
    for (;;) {
      const auto at = d.at;
      co_await time.SleepUntil(at);
      if (time.Now() >= d.at) break;
    }
  } catch (const boost::system::system_error&) {
    // Cancelled: either the operations finished, or whoever awaits Send gave up on it. Then the
    // pending operation must end now too, whether or not it honours cancellation itself.
    if (!d.operations_done && d.on_expire) d.on_expire();
    throw;
  }
  d.expired = true;
  if (d.on_expire) d.on_expire();
}

// Runs `steps` (which reports failures through captured state and must not throw) against a
// watchdog on `d`.
template <class Steps>
awaitable<void> RaceDeadline(TimeSource& time, Deadline& d, Steps& steps) {
  auto run = [&]() -> awaitable<void> {
    co_await steps();
    d.operations_done = true;
  };
  co_await (run() || Watch(time, d));
}

struct IoResult {
  error_code write_error;
  error_code read_error;
  bool leftover_bytes = false;
  std::exception_ptr exception;
};

template <class Stream>
awaitable<void> WriteAndRead(Stream& stream, const Message& message, ResponseReader& reader,
                             TimeSource& time, Duration read_timeout, Deadline& d, IoResult& io) {
  auto [write_error, written] = co_await http::async_write(stream, message, kAsTuple);
  if (write_error) {
    io.write_error = write_error;
    co_return;
  }
  // The clock started with the write: sending the request is not progress of the response.
  d.phase = "waiting for response from";
  std::vector<char> buffer(kReadChunk);
  while (!reader.done() && reader.status().ok()) {
    auto [read_error, n] = co_await stream.async_read_some(asio::buffer(buffer), kAsTuple);
    if (n > 0) {
      io.leftover_bytes = reader.Put(std::string_view(buffer.data(), n)) < n;
      d.PushTo(time.Now() + read_timeout);
      d.phase = "reading response from";
    }
    if (read_error == asio::error::eof) {
      reader.PutEof();
    } else if (read_error) {
      io.read_error = read_error;
      co_return;
    }
  }
}

bool IsClosedOrReset(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::connection_aborted || ec == asio::error::broken_pipe ||
         ec == asio::error::not_connected || ec == ssl::error::stream_truncated;
}

// Outcome of sending one request on one connection.
struct Exchange {
  absl::Status status;
  HttpResponse response;
  bool keep_alive = false;
  // Failed before any byte of a response arrived: safe to replay a replayable request.
  bool nothing_received = false;
};

}  // namespace

struct HttpClient::Impl {
  Impl(asio::any_io_executor executor, TimeSource& time, Options options);

  awaitable<absl::StatusOr<HttpResponse>> Send(HttpRequest request);
  // `limit`: the attempt's deadline (request_timeout), which no phase timeout may pass.
  awaitable<absl::StatusOr<std::unique_ptr<Connection>>> Connect(const HttpRequest& r,
                                                                 TimeSource::TimePoint limit);
  awaitable<Exchange> RoundTrip(Connection& conn, const Message& message, const HttpRequest& r,
                                TimeSource::TimePoint limit);
  // "after 30s (read_timeout)", or the attempt's budget when that is what ran out.
  std::string TimeoutText(const Deadline& d, Duration phase_timeout, const char* phase_name) const;
  std::unique_ptr<Connection> TakeIdle(const std::string& key);
  void PutIdle(const std::string& key, std::unique_ptr<Connection> conn);
  void CloseIdle();

  asio::any_io_executor executor;
  TimeSource& time;
  const Options options;
  ssl::context tls_context{ssl::context::tls_client};
  // Why https requests cannot be sent (e.g. an unreadable ca_file); OK otherwise.
  absl::Status tls_config_status;
  std::atomic<size_t> opened{0};

  mutable std::mutex mu;
  // Pool key -> idle connections, most recently used last.
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle;
  size_t idle_count = 0;
};

HttpClient::Impl::Impl(asio::any_io_executor executor_in, TimeSource& time_in, Options options_in)
    : executor(std::move(executor_in)), time(time_in), options(std::move(options_in)) {
  SSL_CTX_set_min_proto_version(tls_context.native_handle(), TLS1_2_VERSION);
  tls_context.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  error_code ec;
  if (!options.verify_peer) {
    tls_context.set_verify_mode(ssl::verify_none, ec);
    return;
  }
  tls_context.set_verify_mode(ssl::verify_peer, ec);
  if (options.ca_file) {
    tls_context.load_verify_file(*options.ca_file, ec);
    if (ec) {
      tls_config_status = absl::InvalidArgumentError(
          absl::StrCat("cannot load ca_file \"", *options.ca_file, "\": ", ec.message()));
    }
  } else {
    tls_context.set_default_verify_paths(ec);
    if (ec) {
      tls_config_status = absl::FailedPreconditionError(
          absl::StrCat("cannot use the system CA store: ", ec.message()));
    }
  }
}

awaitable<absl::StatusOr<HttpResponse>> HttpClient::Impl::Send(HttpRequest request) {
  absl::Status invalid = Validate(request);
  if (invalid.ok() && request.scheme == "https" && !tls_config_status.ok()) {
    invalid = absl::Status(tls_config_status.code(),
                           absl::StrCat(tls_config_status.message(), Where(request)));
  }
  if (!invalid.ok()) {
    // Like every other outcome, delivered after a trip through the caller's executor.
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    co_return invalid;
  }

  // Real I/O from here on: a virtual clock must not jump over it.
  TimeSource::ExternalWait io_wait(time, absl::StrCat("HTTP ", request.method, " ", request.Url()));
  const Message message = BuildMessage(request, options.user_agent);
  const std::string key = PoolKey(request);
  // One budget for the whole Send, however the server paces its bytes.
  const TimeSource::TimePoint limit = time.Now() + options.request_timeout;
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Connection> conn = attempt == 0 ? TakeIdle(key) : nullptr;
    if (!conn) {
      auto connected = co_await Connect(request, limit);
      if (!connected.ok()) co_return connected.status();
      conn = std::move(*connected);
    }
    Exchange exchange = co_await RoundTrip(*conn, message, request, limit);
    if (exchange.status.ok()) {
      if (exchange.keep_alive) PutIdle(key, std::move(conn));
      co_return std::move(exchange.response);
    }
    // The server closed a kept-alive connection just as the request went out: nothing was
    // processed, so try once more on a connection of our own.
    if (attempt == 0 && conn->reused && exchange.nothing_received && IsReplayable(request)) {
      continue;
    }
    co_return exchange.status;
  }
}

std::string HttpClient::Impl::TimeoutText(const Deadline& d, Duration phase_timeout,
                                          const char* phase_name) const {
  if (d.hit_limit()) {
    return absl::StrCat("after ", DurationText(options.request_timeout),
                        " for the whole request (request_timeout)");
  }
  return absl::StrCat("after ", DurationText(phase_timeout), " (", phase_name, ")");
}

awaitable<absl::StatusOr<std::unique_ptr<Connection>>> HttpClient::Impl::Connect(
    const HttpRequest& r, TimeSource::TimePoint limit) {
  const bool use_tls = r.scheme == "https";
  const std::string host = BareHost(r.host);
  const std::string host_port = HostPort(r);
  auto conn = std::make_unique<Connection>(executor, use_tls ? &tls_context : nullptr);
  tcp::resolver resolver(executor);
  Deadline d(time.Now() + options.connect_timeout, limit);
  absl::Status status;
  std::exception_ptr exception;

  auto steps = [&]() -> awaitable<void> {
    try {
      d.phase = "resolving";
      d.on_expire = [&resolver] { resolver.cancel(); };
      auto flags = tcp::resolver::numeric_service;
      if (IsIpLiteral(host)) flags |= tcp::resolver::numeric_host;
      auto [resolve_error, endpoints] =
          co_await resolver.async_resolve(host, std::to_string(r.port), flags, kAsTuple);
      if (d.expired) co_return;
      if (resolve_error) {
        status = absl::UnavailableError(
            absl::StrCat("cannot resolve host ", host, ": ", resolve_error.message(), Where(r)));
        co_return;
      }

      d.phase = "connecting to";
      d.on_expire = [&conn] { conn->Close(); };
      auto [connect_error, endpoint] =
          co_await asio::async_connect(conn->socket(), endpoints, kAsTuple);
      if (d.expired) co_return;
      if (connect_error == asio::error::connection_refused) {
        status =
            absl::UnavailableError(absl::StrCat("connection refused by ", host_port, Where(r)));
        co_return;
      }
      if (connect_error) {
        status = absl::UnavailableError(
            absl::StrCat("cannot connect to ", host_port, ": ", connect_error.message(), Where(r)));
        co_return;
      }
      error_code ignored;
      conn->socket().set_option(tcp::no_delay(true), ignored);
      if (!use_tls) co_return;

      d.phase = "in TLS handshake with";
      SSL* ssl_handle = conn->tls->native_handle();
      // SNI carries names only (RFC 6066 section 3); an IP is checked against the IP SANs.
      if (!IsIpLiteral(host) && SSL_set_tlsext_host_name(ssl_handle, host.c_str()) != 1) {
        status =
            absl::InvalidArgumentError(absl::StrCat("TLS: cannot use ", host, " as SNI", Where(r)));
        co_return;
      }
      if (options.verify_peer) conn->tls->set_verify_callback(VerifyHostName(host));
      auto [handshake_error] =
          co_await conn->tls->async_handshake(ssl::stream_base::client, kAsTuple);
      if (d.expired) co_return;
      if (handshake_error) {
        std::string detail = handshake_error.message();
        const long verify_result = SSL_get_verify_result(ssl_handle);
        if (verify_result != X509_V_OK) {
          // The same certificate will fail the same way: a permanent error, not UNAVAILABLE.
          status = absl::FailedPreconditionError(absl::StrCat(
              "TLS handshake with ", host_port, " failed: certificate verification failed: ",
              X509_verify_cert_error_string(verify_result), " (", detail, ")", Where(r)));
          co_return;
        }
        status = absl::UnavailableError(
            absl::StrCat("TLS handshake with ", host_port, " failed: ", detail, Where(r)));
      }
    } catch (const boost::system::system_error& e) {
      // A cancellation (the watchdog's, or our caller's) surfacing at the next co_await. The
      // checks after the race say which; this only keeps a half-made connection from passing.
      status = absl::UnavailableError(
          absl::StrCat("cannot connect to ", host_port, ": ", e.code().message(), Where(r)));
    } catch (...) {
      exception = std::current_exception();
    }
  };
  co_await RaceDeadline(time, d, steps);

  if (exception) std::rethrow_exception(exception);
  // Read the state directly: co_await on an awaitable would throw in a cancelled coroutine.
  if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none) {
    co_return absl::CancelledError(absl::StrCat("cancelled connecting to ", host_port, Where(r)));
  }
  if (d.expired) {
    co_return absl::DeadlineExceededError(
        absl::StrCat("timed out ", d.phase, " ", host_port, " ",
                     TimeoutText(d, options.connect_timeout, "connect_timeout"), Where(r)));
  }
  if (!status.ok()) co_return status;
  opened.fetch_add(1, std::memory_order_relaxed);
  co_return std::move(conn);
}

awaitable<Exchange> HttpClient::Impl::RoundTrip(Connection& conn, const Message& message,
                                                const HttpRequest& r, TimeSource::TimePoint limit) {
  const std::string host_port = HostPort(r);
  ResponseReader reader({.max_body_bytes = options.max_response_bytes,
                         .max_header_bytes = kHeaderLimit,
                         .head_request = r.method == "HEAD"},
                        host_port);

  Deadline d(time.Now() + options.read_timeout, limit);
  d.phase = "sending request to";
  d.on_expire = [&conn] { conn.Close(); };
  IoResult io;
  auto steps = [&]() -> awaitable<void> {
    try {
      if (conn.tls) {
        co_await WriteAndRead(*conn.tls, message, reader, time, options.read_timeout, d, io);
      } else {
        co_await WriteAndRead(*conn.plain, message, reader, time, options.read_timeout, d, io);
      }
    } catch (const boost::system::system_error& e) {
      // A cancellation surfacing at the next co_await; classified below like a failed read.
      if (!io.write_error && !io.read_error) io.read_error = e.code();
    } catch (...) {
      io.exception = std::current_exception();
    }
  };
  co_await RaceDeadline(time, d, steps);
  if (io.exception) std::rethrow_exception(io.exception);

  Exchange out;
  // Read the state directly: co_await on an awaitable would throw in a cancelled coroutine.
  if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none) {
    out.status =
        absl::CancelledError(absl::StrCat("cancelled ", d.phase, " ", host_port, Where(r)));
    co_return out;
  }
  if (reader.done()) {
    out.keep_alive = reader.keep_alive() && !io.leftover_bytes && !d.expired;
    out.response = reader.TakeResponse();
    co_return out;
  }
  if (d.expired) {
    out.status = absl::DeadlineExceededError(
        absl::StrCat("timed out ", d.phase, " ", host_port, " ",
                     TimeoutText(d, options.read_timeout, "read_timeout"), Where(r)));
    co_return out;
  }
  if (io.write_error) {
    out.nothing_received = true;
    out.status = absl::UnavailableError(
        absl::StrCat("connection to ", host_port,
                     " failed while sending the request: ", io.write_error.message(), Where(r)));
    co_return out;
  }
  if (!reader.status().ok()) {
    // Malformed, over a limit, or closed at end of stream before the response was whole.
    out.nothing_received = !reader.got_some();
    out.status =
        absl::Status(reader.status().code(), absl::StrCat(reader.status().message(), Where(r)));
    co_return out;
  }

  const error_code& ec = io.read_error;
  const bool reset = ec == asio::error::connection_reset || ec == asio::error::connection_aborted;
  if (!reader.got_some() && IsClosedOrReset(ec)) {
    out.nothing_received = true;
    out.status =
        absl::UnavailableError(absl::StrCat("connection ", reset ? "reset" : "closed", " by ",
                                            host_port, " before any response", Where(r)));
  } else if (IsClosedOrReset(ec)) {
    std::string what = reader.header_done() ? absl::StrCat("truncated response body (",
                                                           reader.body_bytes(), " bytes received)")
                                            : std::string("truncated response header");
    out.status = absl::DataLossError(absl::StrCat(what, ": connection ", reset ? "reset" : "closed",
                                                  " by ", host_port, " mid-response", Where(r)));
  } else if (reader.got_some()) {
    out.status = absl::DataLossError(absl::StrCat("error reading response from ", host_port,
                                                  " mid-response: ", ec.message(), Where(r)));
  } else {
    out.status = absl::UnavailableError(
        absl::StrCat("error reading response from ", host_port, ": ", ec.message(), Where(r)));
  }
  co_return out;
}

std::unique_ptr<Connection> HttpClient::Impl::TakeIdle(const std::string& key) {
  std::vector<std::unique_ptr<Connection>> discarded;  // closed outside the lock
  std::unique_ptr<Connection> found;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = idle.find(key);
    if (it == idle.end()) return nullptr;
    auto& conns = it->second;
    const auto now = time.Now();
    while (!conns.empty() && !found) {
      std::unique_ptr<Connection> conn = std::move(conns.back());
      conns.pop_back();
      --idle_count;
      if (now - conn->idle_since <= options.idle_timeout && LooksOpen(conn->socket())) {
        found = std::move(conn);
      } else {
        discarded.push_back(std::move(conn));
      }
    }
    if (conns.empty()) idle.erase(it);
  }
  if (found) found->reused = true;
  return found;
}

void HttpClient::Impl::PutIdle(const std::string& key, std::unique_ptr<Connection> conn) {
  if (options.max_idle_connections_per_host == 0) return;
  conn->idle_since = time.Now();
  std::unique_ptr<Connection> evicted;  // the least recently used one, when the host is full
  std::lock_guard<std::mutex> lock(mu);
  auto& conns = idle[key];
  if (conns.size() >= options.max_idle_connections_per_host) {
    evicted = std::move(conns.front());
    conns.erase(conns.begin());
    --idle_count;
  }
  conns.push_back(std::move(conn));
  ++idle_count;
}

void HttpClient::Impl::CloseIdle() {
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> closing;
  std::lock_guard<std::mutex> lock(mu);
  closing.swap(idle);
  idle_count = 0;
}

HttpClient::HttpClient(asio::any_io_executor executor, TimeSource& time, Options options)
    : impl_(std::make_shared<Impl>(std::move(executor), time, std::move(options))) {}

HttpClient::HttpClient(asio::io_context& io, TimeSource& time, Options options)
    : HttpClient(io.get_executor(), time, std::move(options)) {}

HttpClient::~HttpClient() { impl_->CloseIdle(); }

awaitable<absl::StatusOr<HttpResponse>> HttpClient::Send(HttpRequest request) {
  // The frame keeps the state alive even if the client is destroyed while this is in flight.
  std::shared_ptr<Impl> impl = impl_;
  co_return co_await impl->Send(std::move(request));
}

size_t HttpClient::idle_connections() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->idle_count;
}

size_t HttpClient::connections_opened() const {
  return impl_->opened.load(std::memory_order_relaxed);
}

void HttpClient::CloseIdleConnections() { impl_->CloseIdle(); }

}  // namespace marketpipe::net
