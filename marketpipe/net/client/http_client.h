#ifndef MARKETPIPE_NET_CLIENT_HTTP_CLIENT_H_
#define MARKETPIPE_NET_CLIENT_HTTP_CLIENT_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "marketpipe/net/http_transport.h"
#include "marketpipe/net/http_types.h"
#include "marketpipe/time/time_source.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace marketpipe::net {

// Settings of an HttpClient. The defaults suit Alpaca's API.
struct HttpClientOptions {
  // Budget for opening a connection: DNS resolution, TCP connect and (https) the TLS handshake.
  TimeSource::Duration connect_timeout = std::chrono::seconds(10);
  // Longest wait for progress of the response: from the start of sending the request until the
  // first bytes arrive, then between reads. It restarts on every read that delivers bytes.
  TimeSource::Duration read_timeout = std::chrono::seconds(30);
  // Budget for a whole Send: connecting, sending and reading all of the response. Unlike
  // read_timeout it never restarts, so a server dripping a byte at a time cannot hold a request
  // open (a full Alpaca page is ~1.3 MB).
  TimeSource::Duration request_timeout = std::chrono::seconds(120);
  // Largest response body accepted (after de-chunking); a larger one is RESOURCE_EXHAUSTED, and a
  // Content-Length announcing one is refused before any of the body is read. A full Alpaca bars
  // page (10,000 bars) is 1-2 MB.
  size_t max_response_bytes = size_t{8} << 20;
  // Idle keep-alive connections kept per (scheme, host, port). 0 turns connection reuse off.
  size_t max_idle_connections_per_host = 4;
  // A pooled connection idle for longer is closed rather than reused: servers drop idle
  // connections, and reusing a dropped one costs a failed attempt.
  TimeSource::Duration idle_timeout = std::chrono::seconds(50);
  // Verify the server's certificate chain and host name (https). Only tests turn this off.
  bool verify_peer = true;
  // PEM file of CA certificates trusted *instead of* the system store (/etc/ssl/certs).
  std::optional<std::string> ca_file;
  // Sent as User-Agent unless the request sets one.
  std::string user_agent = "marketpipe/1.0";
};

// The production HttpTransport: HTTP/1.1 over TCP (scheme "http") or TLS 1.2+ through OpenSSL
// (scheme "https": SNI, certificate chain and host name verified), with keep-alive.
//
//   HttpClient client(io.get_executor(), SystemTimeSource());
//   absl::StatusOr<HttpResponse> r = co_await client.Send(
//       {.method = "GET", .scheme = "https", .host = "data.alpaca.markets", .port = 443,
//        .target = "/v2/stocks/bars?symbols=AAPL&timeframe=1Min"});
//
// Errors follow HttpTransport's contract; every message names the URL (never a header value):
//   INVALID_ARGUMENT    the request cannot be sent (scheme, CR/LF in a field, unreadable ca_file)
//   UNAVAILABLE         cannot resolve host, connection refused, TLS handshake failed (not the
//                       certificate), connection closed or reset before any response
//   FAILED_PRECONDITION certificate verification failed ("certificate verification failed: "
//                       + OpenSSL's reason), or the system CA store is unusable
//   DEADLINE_EXCEEDED   connect_timeout, read_timeout or request_timeout passed (says host:port,
//                       the phase and which timeout)
//   DATA_LOSS           malformed HTTP, truncated body, connection reset mid-response
//   RESOURCE_EXHAUSTED  body or Content-Length over max_response_bytes (or a header over 64 KiB)
//
// Bodies: every response body has kResponseBodyPadding bytes of spare capacity past its end
// (reserved as it is received), so simdjson parses it in place.
//
// The trust store: the system's (OpenSSL's default paths, which honour SSL_CERT_FILE and
// SSL_CERT_DIR when set), unless ca_file is given.
//
// Connections: one per in-flight request; after a complete keep-alive response it goes back to
// a per-(scheme, host, port) idle pool. A pooled connection the server has since closed is
// noticed before use, or, when the server closes it as the request arrives, the request is
// retried once on a fresh connection: only for GET/HEAD/OPTIONS/TRACE, and only if no byte of
// the response had arrived.
//
// Time: the timeouts run on the injected TimeSource, and each Send holds a
// TimeSource::ExternalWait while it talks to the network, so a virtual clock never skips over
// real I/O; a test fires a timeout by advancing the clock itself.
//
// Threading: Send may be awaited concurrently from any number of coroutines, which must run on
// `executor`'s execution context: a single-threaded io_context, or a strand. Each Send
// completes on its awaiting coroutine's executor. In-flight Sends keep the client's state alive,
// so the client may be destroyed before they finish; it must be destroyed before its
// io_context.
class HttpClient final : public HttpTransport {
 public:
  using Options = HttpClientOptions;

  HttpClient(boost::asio::any_io_executor executor, TimeSource& time, Options options = {});
  HttpClient(boost::asio::io_context& io, TimeSource& time, Options options = {});
  ~HttpClient() override;

  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  boost::asio::awaitable<absl::StatusOr<HttpResponse>> Send(HttpRequest request) override;

  // Idle connections in the pool now, across hosts.
  size_t idle_connections() const;
  // Connections opened (TCP connect + any TLS handshake succeeded) since construction.
  size_t connections_opened() const;
  // Closes every idle pooled connection.
  void CloseIdleConnections();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace marketpipe::net

#endif  // MARKETPIPE_NET_CLIENT_HTTP_CLIENT_H_
