#ifndef MARKETPIPE_NET_SERVER_HTTP_SERVER_H_
#define MARKETPIPE_NET_SERVER_HTTP_SERVER_H_

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
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

// What a handler answers. Content-Length, Date-less framing and keep-alive are the server's.
struct ServerResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  HttpHeaders headers;  // extra fields
  std::string body;
  // Close the connection after this response even if the client asked for keep-alive.
  bool close = false;
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
  // a host that is not an IP address, UNAVAILABLE when the address cannot be bound,
  // FAILED_PRECONDITION when already started.
  absl::Status Start();

  // Closes the listener and every connection, then joins the I/O thread. Idempotent.
  void Stop();

  // The bound port (after a successful Start), e.g. the one the system chose for port 0.
  uint16_t port() const;
  // "http://host:port"
  std::string base_url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace marketpipe::net

#endif  // MARKETPIPE_NET_SERVER_HTTP_SERVER_H_
