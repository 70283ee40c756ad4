#ifndef MARKETPIPE_NET_SERVER_HTTP_SERVER_H_
#define MARKETPIPE_NET_SERVER_HTTP_SERVER_H_

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "marketpipe/net/http_types.h"

namespace marketpipe::net {

// One request as the server read it.
struct ServerRequest {
  std::string method;  // "GET"
  std::string target;  // as sent: "/metrics?x=1"
  std::string path;    // target without the query: "/metrics"
  HttpHeaders headers;
  std::string body;
  size_t connection = 0;  // 0-based id of the TCP connection, in accept order
};

class ServerConnection;

// What a handler answers. Content-Length, Date-less framing and keep-alive are the server's.
struct ServerResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  HttpHeaders headers;  // extra fields
  std::string body;
  // Close the connection after this response even if the client asked for keep-alive.
  bool close = false;
  // For test servers that must misbehave on purpose (a fake of a broken upstream: slow drips,
  // truncated or raw bytes, resets, late answers). When set, the server writes nothing itself
  // and hands the connection to `custom_write`, which writes what it likes (the response above
  // through ServerConnection::Serialize, or anything else) and returns whether the connection
  // may carry another request. `status` is still what on_request reports.
  std::function<boost::asio::awaitable<bool>(ServerConnection&)> custom_write;
};

// The connection a request arrived on, as `ServerResponse::custom_write` sees it. Every wait
// here ends when the server stops (false / returns), so Stop() never waits for a handler.
class ServerConnection {
 public:
  virtual ~ServerConnection() = default;
  // The response as the server would write it for this request (status line, headers,
  // Content-Length, keep-alive as below): bytes to send whole, in pieces or in part.
  virtual std::string Serialize(const ServerResponse& response) const = 0;
  // The client asked for keep-alive and the server is not stopping.
  virtual bool keep_alive() const = 0;
  // Writes `bytes` as they are, within Options::write_timeout. False if the write failed or
  // the server is stopping.
  virtual boost::asio::awaitable<bool> Write(std::string_view bytes) = 0;
  // Waits `duration` (real time). False if the server stopped meanwhile.
  virtual boost::asio::awaitable<bool> Sleep(std::chrono::nanoseconds duration) = 0;
  // Reads and discards what the client sends until it closes the connection (no timeout) or
  // the server stops.
  virtual boost::asio::awaitable<void> DrainUntilClosed() = 0;
  // Closes the connection: an orderly shutdown, or with `reset` a TCP RST (SO_LINGER 0).
  virtual void Close(bool reset) = 0;
};

// Handlers run on the server's I/O thread: a synchronous one must not block for long.
using Handler = std::function<ServerResponse(const ServerRequest&)>;
using AsyncHandler = std::function<boost::asio::awaitable<ServerResponse>(ServerRequest)>;

// What the server reports after each response it sends (including its own 400/404/405).
struct RequestLog {
  std::string method;  // "" when the request could not be parsed
  std::string path;
  int status = 0;
  std::chrono::nanoseconds duration{0};  // first byte of the request to the response written
};

// A production HTTP/1.1 server (Boost.Beast underneath, kept out of this header): keep-alive,
// routing by exact path, request time and size limits, many concurrent connections on one
// I/O thread of its own, so a slow client never holds up the others.
//
//   HttpServer server({.port = 0});
//   server.Handle("/metrics", {"GET"}, [&](const ServerRequest&) {
//     return ServerResponse{.body = registry.Render()};
//   });
//   if (absl::Status s = server.Start(); !s.ok()) ...;
//   server.port();  // the bound port
//
// Answers of its own: an unknown path is 404, a known path with another method 405 (with
// `Allow`), a malformed request, headers over `max_header_bytes` or a body over
// `max_body_bytes` 400 (and the connection is closed), a handler that throws 500. A client that
// has not sent complete headers within `header_timeout` (counted from the first wait for a
// request, so idle keep-alive connections expire too) or the body within `body_timeout` after
// them is disconnected, as is one that does not take the response within `write_timeout`.
//
// Thread safety: register routes before Start(); Start/Stop/port from the owning thread.
// Handlers run on the server's I/O thread and may co_await; Stop() closes every connection, so
// a handler must not wait on anything but its ServerConnection (see custom_write).
class HttpServer {
 public:
  struct Options {
    std::string host = "127.0.0.1";  // loopback unless told otherwise
    uint16_t port = 0;               // 0: any free port (see port())
    size_t max_header_bytes = 8 * 1024;
    size_t max_body_bytes = 1024 * 1024;
    std::chrono::milliseconds header_timeout{10'000};
    std::chrono::milliseconds body_timeout{30'000};
    std::chrono::milliseconds write_timeout{30'000};
    // Connections beyond this are closed as soon as they are accepted.
    size_t max_connections = 1024;
    std::string server_name = "marketpipe";
    // Serve HTTPS (TLS 1.2+) with this certificate chain and private key, both PEM; base_url()
    // is then https://. A connection whose handshake fails is closed without a response.
    struct Tls {
      std::string certificate_pem;
      std::string private_key_pem;
    };
    std::optional<Tls> tls = std::nullopt;
    // Called on the I/O thread after each response (metrics, access logs). Must not block.
    std::function<void(const RequestLog&)> on_request;
  };

  HttpServer();
  explicit HttpServer(Options options);
  // Stop()s.
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes `path` (exact, without the query) for the given methods ("GET", "POST", ...).
  // Registering a path again replaces its route.
  void Handle(std::string path, std::vector<std::string> methods, Handler handler);
  void HandleAsync(std::string path, std::vector<std::string> methods, AsyncHandler handler);
  // Every request whose path has no route goes here instead of getting 404 (whatever its
  // method), e.g. for a server that does its own routing.
  void HandleUnrouted(AsyncHandler handler);

  // Binds host:port, listens and starts serving on a thread of its own. INVALID_ARGUMENT for
  // a host that is not an IP address or an unusable TLS certificate or key, UNAVAILABLE when
  // the address cannot be bound, FAILED_PRECONDITION when already started.
  absl::Status Start();

  // Closes the listener and every connection, then joins the I/O thread. Idempotent.
  void Stop();

  // The bound port (after a successful Start), e.g. the one the system chose for port 0.
  uint16_t port() const;
  // "http://host:port" ("https://..." with Options::tls)
  std::string base_url() const;
  // TCP connections accepted so far (including those closed at once over max_connections).
  // Any thread.
  size_t connections_accepted() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace marketpipe::net

#endif  // MARKETPIPE_NET_SERVER_HTTP_SERVER_H_
