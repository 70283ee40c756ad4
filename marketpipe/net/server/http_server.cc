#include "marketpipe/net/server/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
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
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <exception>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace marketpipe::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

const boost::system::error_category& HttpErrorCategory() {
  return boost::system::error_code(http::error::bad_method).category();
}

std::string ToStd(boost::core::string_view s) { return std::string(s.data(), s.size()); }

ServerResponse Plain(int status, std::string body, bool close = false) {
  ServerResponse r;
  r.status = status;
  r.body = std::move(body);
  r.close = close;
  return r;
}

}  // namespace

struct HttpServer::Impl {
  struct Route {
    std::vector<std::string> methods;
    AsyncHandler handler;
  };

  struct Connection {
    Connection(tcp::socket socket, size_t id_in)
        : stream(std::move(socket)), timer(stream.get_executor()), id(id_in) {}
    beast::tcp_stream stream;
    // Over `stream`, with Options::tls. Closing `stream` ends it too.
    std::unique_ptr<ssl::stream<beast::tcp_stream&>> tls;
    // custom_write's Sleep; Stop() cancels it.
    asio::steady_timer timer;
    size_t id;
  };

  template <class Stream>
  class StreamConnection;

  explicit Impl(Options o) : options(std::move(o)) {}

  asio::awaitable<void> Accept();
  asio::awaitable<void> Serve(std::shared_ptr<Connection> conn);
  template <class Stream>
  asio::awaitable<void> ServeRequests(Connection& conn, Stream& stream);
  asio::awaitable<ServerResponse> Dispatch(ServerRequest request);
  http::response<http::string_body> Build(ServerResponse& response, unsigned version,
                                          bool keep_alive) const;
  // Writes `response` for a request with HTTP `version` and reports it; false if the
  // connection must end (write failed or either side asked to close).
  template <class Stream>
  asio::awaitable<bool> Respond(Connection& conn, Stream& stream, ServerResponse response,
                                unsigned version, bool client_keep_alive, const std::string& method,
                                const std::string& path,
                                std::chrono::steady_clock::time_point started);
  // Half-closes and drains what the client is still sending, so that closing the socket does
  // not reset the connection before the client has read our response.
  asio::awaitable<void> LingeringClose(Connection& conn);

  const Options options;
  std::map<std::string, Route> routes;
  AsyncHandler unrouted;
  std::unique_ptr<ssl::context> tls_context;  // with Options::tls, from Start()

  asio::io_context io;
  tcp::acceptor acceptor{io};
  uint16_t port = 0;
  std::thread thread;
  bool started = false;
  bool stopped = false;
  std::atomic<size_t> accepted{0};

  // I/O thread only.
  bool stopping = false;
  size_t next_connection_id = 0;
  std::set<std::shared_ptr<Connection>> connections;
};

// ServerConnection over the plain or TLS stream of one connection, for one request.
template <class Stream>
class HttpServer::Impl::StreamConnection final : public ServerConnection {
 public:
  StreamConnection(Impl& impl, Connection& conn, Stream& stream, unsigned version,
                   bool client_keep_alive)
      : impl_(impl),
        conn_(conn),
        stream_(stream),
        version_(version),
        client_keep_alive_(client_keep_alive) {}

  std::string Serialize(const ServerResponse& response) const override {
    ServerResponse copy = response;
    http::response<http::string_body> res =
        impl_.Build(copy, version_, keep_alive() && !response.close);
    std::ostringstream wire;
    wire << res;
    return std::move(wire).str();
  }

  bool keep_alive() const override { return client_keep_alive_ && !impl_.stopping; }

  asio::awaitable<bool> Write(std::string_view bytes) override {
    if (impl_.stopping) co_return false;
    boost::system::error_code ec;
    conn_.stream.expires_after(impl_.options.write_timeout);
    co_await asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec && !impl_.stopping;
  }

  asio::awaitable<bool> Sleep(std::chrono::nanoseconds duration) override {
    if (impl_.stopping) co_return false;
    boost::system::error_code ec;
    conn_.timer.expires_after(duration);
    co_await conn_.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec && !impl_.stopping;
  }

  asio::awaitable<void> DrainUntilClosed() override {
    boost::system::error_code ec;
    std::array<char, 4096> sink;
    conn_.stream.expires_never();
    while (!ec && !impl_.stopping) {
      co_await stream_.async_read_some(asio::buffer(sink),
                                       asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  void Close(bool reset) override {
    boost::system::error_code ec;
    tcp::socket& socket = conn_.stream.socket();
    if (reset) {
      socket.set_option(tcp::socket::linger(true, 0), ec);
    } else {
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
    conn_.stream.close();
  }

 private:
  Impl& impl_;
  Connection& conn_;
  Stream& stream_;
  unsigned version_;
  bool client_keep_alive_;
};

asio::awaitable<void> HttpServer::Impl::Accept() {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping) co_return;
      continue;  // e.g. the peer went away before accept; keep listening
    }
    accepted.fetch_add(1, std::memory_order_relaxed);
    if (connections.size() >= options.max_connections) {
      socket.close(ec);
      continue;
    }
    auto conn = std::make_shared<Connection>(std::move(socket), next_connection_id++);
    connections.insert(conn);
    asio::co_spawn(io, Serve(conn), [this, conn](std::exception_ptr) {
      // A connection's failure is that connection's alone; Serve reports nothing else.
      connections.erase(conn);
    });
  }
}

asio::awaitable<ServerResponse> HttpServer::Impl::Dispatch(ServerRequest request) {
  const auto it = routes.find(request.path);
  if (it == routes.end()) {
    if (unrouted) co_return co_await unrouted(std::move(request));
    co_return Plain(404, "not found\n");
  }
  const Route& route = it->second;
  if (std::find(route.methods.begin(), route.methods.end(), request.method) ==
      route.methods.end()) {
    ServerResponse r = Plain(405, "method not allowed\n");
    r.headers.Set("Allow", absl::StrJoin(route.methods, ", "));
    co_return r;
  }
  co_return co_await route.handler(std::move(request));
}

http::response<http::string_body> HttpServer::Impl::Build(ServerResponse& response,
                                                          unsigned version, bool keep_alive) const {
  http::response<http::string_body> res(static_cast<http::status>(response.status), version);
  res.set(http::field::server, options.server_name);
  res.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers.fields()) res.insert(name, value);
  res.keep_alive(keep_alive);
  res.body() = std::move(response.body);
  res.prepare_payload();
  return res;
}

template <class Stream>
asio::awaitable<bool> HttpServer::Impl::Respond(Connection& conn, Stream& stream,
                                                ServerResponse response, unsigned version,
                                                bool client_keep_alive, const std::string& method,
                                                const std::string& path,
                                                std::chrono::steady_clock::time_point started) {
  bool keep_alive;
  if (response.custom_write) {
    StreamConnection<Stream> custom(*this, conn, stream, version, client_keep_alive);
    keep_alive = co_await response.custom_write(custom);
    keep_alive = keep_alive && !stopping;
  } else {
    keep_alive = client_keep_alive && !response.close && !stopping;
    http::response<http::string_body> res = Build(response, version, keep_alive);
    boost::system::error_code ec;
    conn.stream.expires_after(options.write_timeout);
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    keep_alive = keep_alive && !ec;
  }
  if (options.on_request) {
    options.on_request(RequestLog{.method = method,
                                  .path = path,
                                  .status = response.status,
                                  .duration = std::chrono::steady_clock::now() - started});
  }
  co_return keep_alive;
}

asio::awaitable<void> HttpServer::Impl::LingeringClose(Connection& conn) {
  boost::system::error_code ec;
  if (!conn.stream.socket().is_open()) co_return;
  conn.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  std::array<char, 4096> sink;
  size_t drained = 0;
  conn.stream.expires_after(std::chrono::seconds(1));
  while (!ec && !stopping && drained < options.max_header_bytes + options.max_body_bytes) {
    drained += co_await conn.stream.async_read_some(asio::buffer(sink),
                                                    asio::redirect_error(asio::use_awaitable, ec));
  }
  conn.stream.close();
}

asio::awaitable<void> HttpServer::Impl::Serve(std::shared_ptr<Connection> conn) {
  if (!tls_context) {
    co_await ServeRequests(*conn, conn->stream);
    co_return;
  }
  conn->tls = std::make_unique<ssl::stream<beast::tcp_stream&>>(conn->stream, *tls_context);
  boost::system::error_code ec;
  conn->stream.expires_after(options.header_timeout);
  co_await conn->tls->async_handshake(ssl::stream_base::server,
                                      asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    conn->stream.close();  // e.g. the client rejected the certificate
    co_return;
  }
  co_await ServeRequests(*conn, *conn->tls);
}

template <class Stream>
asio::awaitable<void> HttpServer::Impl::ServeRequests(Connection& conn, Stream& stream) {
  beast::flat_buffer buffer;
  for (;;) {
    if (stopping) co_return;
    boost::system::error_code ec;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser.body_limit(options.max_body_bytes);

    conn.stream.expires_after(options.header_timeout);
    co_await http::async_read_header(stream, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
    auto started = std::chrono::steady_clock::now();
    if (!ec && !parser.is_done()) {
      conn.stream.expires_after(options.body_timeout);
      co_await http::async_read(stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) {
      // Anything but a parse error means the client went away, was too slow (tcp_stream has
      // closed the socket) or we are stopping: nothing to answer.
      const bool parse_error = ec.category() == HttpErrorCategory() &&
                               ec != http::error::end_of_stream &&
                               ec != http::error::partial_message;
      if (!parse_error) {
        conn.stream.close();
        co_return;
      }
      // A parse error: malformed, or over the header or body limit.
      std::string why = ec == http::error::header_limit ? "request headers too large"
                        : ec == http::error::body_limit ? "request body too large"
                                                        : "malformed request";
      co_await Respond(conn, stream, Plain(400, why + "\n", /*close=*/true), 11, false, "", "",
                       started);
      co_await LingeringClose(conn);
      co_return;
    }

    http::request<http::string_body> req = parser.release();
    ServerRequest request;
    request.method = ToStd(req.method_string());
    request.target = ToStd(req.target());
    request.path = request.target.substr(0, request.target.find('?'));
    for (const auto& field : req)
      request.headers.Add(ToStd(field.name_string()), ToStd(field.value()));
    request.body = std::move(req.body());
    request.connection = conn.id;
    const std::string method = request.method;
    const std::string path = request.path;

    ServerResponse response;
    try {
      response = co_await Dispatch(std::move(request));
    } catch (const std::exception& e) {
      response = Plain(500, "internal server error\n");
    }
    if (!co_await Respond(conn, stream, std::move(response), req.version(), req.keep_alive(),
                          method, path, started)) {
      co_await LingeringClose(conn);
      co_return;
    }
  }
}

HttpServer::HttpServer() : HttpServer(Options()) {}

HttpServer::HttpServer(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(std::string path, std::vector<std::string> methods, Handler handler) {
  HandleAsync(
      std::move(path), std::move(methods),
      [handler = std::move(handler)](ServerRequest request) -> asio::awaitable<ServerResponse> {
        co_return handler(request);
      });
}

void HttpServer::HandleAsync(std::string path, std::vector<std::string> methods,
                             AsyncHandler handler) {
  impl_->routes[std::move(path)] = Impl::Route{std::move(methods), std::move(handler)};
}

void HttpServer::HandleUnrouted(AsyncHandler handler) { impl_->unrouted = std::move(handler); }

absl::Status HttpServer::Start() {
  if (impl_->started) return absl::FailedPreconditionError("HttpServer: already started");
  boost::system::error_code ec;
  if (const auto& tls = impl_->options.tls) {
    auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1);
    context->use_certificate_chain(asio::buffer(tls->certificate_pem), ec);
    if (!ec) context->use_private_key(asio::buffer(tls->private_key_pem), ssl::context::pem, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("unusable TLS certificate or private key: ", ec.message()));
    }
    impl_->tls_context = std::move(context);
  }
  const asio::ip::address address = asio::ip::make_address(impl_->options.host, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat("invalid listen host \"", impl_->options.host,
                                                   "\": expected an IP address such as 127.0.0.1"));
  }
  const tcp::endpoint endpoint(address, impl_->options.port);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
    return absl::UnavailableError(absl::StrCat("cannot listen on ", impl_->options.host, ":",
                                               impl_->options.port, ": ", ec.message()));
  }
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->started = true;
  asio::co_spawn(impl_->io, impl_->Accept(), asio::detached);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  asio::post(impl_->io, [impl = impl_.get()] {
    impl->stopping = true;
    boost::system::error_code ec;
    impl->acceptor.close(ec);
    for (const auto& conn : impl->connections) {
      conn->timer.cancel();
      conn->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      conn->stream.close();
    }
  });
  // Every coroutine ends once its socket is closed or its timer cancelled, so run() returns on
  // its own.
  impl_->thread.join();
}

uint16_t HttpServer::port() const { return impl_->port; }

std::string HttpServer::base_url() const {
  const char* scheme = impl_->options.tls ? "https" : "http";
  const bool v6 = impl_->options.host.find(':') != std::string::npos;
  return v6 ? absl::StrCat(scheme, "://[", impl_->options.host, "]:", impl_->port)
            : absl::StrCat(scheme, "://", impl_->options.host, ":", impl_->port);
}

size_t HttpServer::connections_accepted() const {
  return impl_->accepted.load(std::memory_order_relaxed);
}

}  // namespace marketpipe::net
