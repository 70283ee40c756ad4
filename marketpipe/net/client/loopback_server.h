#ifndef MARKETPIPE_NET_CLIENT_LOOPBACK_SERVER_H_
#define MARKETPIPE_NET_CLIENT_LOOPBACK_SERVER_H_

#include <openssl/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

// Test support for HttpClient: a loopback server that replays scripted bytes (plain TCP or TLS)
// and self-signed certificates made at test time. Blocking sockets on plain threads, so scripts
// read like the conversation they script, and nothing here touches the client's io_context.
namespace marketpipe::net::client_test {

// A private key and a self-signed X.509 certificate, generated in memory.
class TestCertificate {
 public:
  // EC P-256 key; CN = `common_name`; subjectAltName = `alt_names` (e.g. "DNS:localhost",
  // "IP:127.0.0.1"); valid from an hour ago for a day; CA:TRUE so it can be its own trust anchor.
  static TestCertificate Generate(const std::string& common_name,
                                  const std::vector<std::string>& alt_names);

  TestCertificate(TestCertificate&&) noexcept;
  TestCertificate& operator=(TestCertificate&&) noexcept;
  ~TestCertificate();

  // The certificate in PEM.
  std::string Pem() const;
  // The private key in PEM (PKCS#8, unencrypted), e.g. for FakeAlpacaServer::Options::tls.
  std::string KeyPem() const;
  // Writes Pem() to `path` (a CA file for HttpClientOptions::ca_file).
  void WritePem(const std::string& path) const;

  EVP_PKEY* key() const { return key_; }
  X509* cert() const { return cert_; }

 private:
  TestCertificate(EVP_PKEY* key, X509* cert) : key_(key), cert_(cert) {}
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
};

class LoopbackServer;

// One accepted connection as a script sees it. Every call is blocking and fails (nullopt/false)
// once the peer closed the connection or the server is stopping.
class Peer {
 public:
  // Reads one request: the head up to the blank line, then a Content-Length body, if any.
  // Returns the raw bytes (also recorded in LoopbackServer::requests()).
  std::optional<std::string> ReadRequest();
  // Writes all of `bytes`.
  bool Write(std::string_view bytes);
  // Blocks until the client closes the connection (or the server stops), discarding input.
  void WaitForClose();
  // Closes with an RST (SO_LINGER 0) instead of a FIN.
  void Reset();
  // Closes normally (FIN). Also happens when the script returns.
  void Close();

  // 0-based accept order.
  size_t index() const { return index_; }
  // Server name the client asked for in the TLS handshake ("" without SNI or TLS).
  const std::string& sni() const { return sni_; }

 private:
  friend class LoopbackServer;
  Peer(LoopbackServer& server, int fd, size_t index) : server_(server), fd_(fd), index_(index) {}
  ~Peer();
  long ReadSome(char* data, size_t size);

  LoopbackServer& server_;
  int fd_;
  size_t index_;
  SSL* ssl_ = nullptr;
  std::string sni_;
  std::string pending_;  // bytes read past the previous request
};

// Serves 127.0.0.1 on a port chosen by the kernel. The i-th accepted connection runs scripts[i]
// on its own thread and is closed when the script returns; connections beyond the scripts are
// closed at once. With `tls`, each connection completes a TLS handshake (as `tls`) first; a
// failed handshake is recorded and the script is not run.
class LoopbackServer {
 public:
  using Script = std::function<void(Peer&)>;

  struct Request {
    size_t connection = 0;  // Peer::index() of the connection it arrived on
    std::string bytes;      // head + body as received
  };

  explicit LoopbackServer(std::vector<Script> scripts, const TestCertificate* tls = nullptr);
  // Stop()s.
  ~LoopbackServer();

  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  // Stops accepting, shuts down every open connection (unblocking scripts) and joins all
  // threads. Idempotent.
  void Stop();

  uint16_t port() const { return port_; }
  size_t connections_accepted() const { return accepted_.load(); }
  std::vector<Request> requests() const;
  // Errors of TLS handshakes the client broke off (e.g. it rejected the certificate).
  std::vector<std::string> tls_failures() const;

 private:
  friend class Peer;
  void AcceptLoop();
  void Serve(int fd, size_t index);
  void Record(size_t connection, std::string bytes);
  // Closes `fd` unless Stop() already shut it down; either way forgets it.
  void CloseFd(int fd);

  std::vector<Script> scripts_;
  SSL_CTX* tls_ctx_ = nullptr;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::atomic<size_t> accepted_{0};
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;

  mutable std::mutex mu_;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
  std::vector<Request> requests_;
  std::vector<std::string> tls_failures_;
};

// "HTTP/1.1 <status> <reason>\r\n" + headers + Content-Length + "\r\n\r\n" + body.
std::string HttpResponseBytes(int status, std::string_view body,
                              const std::vector<std::string>& extra_headers = {});

// A 127.0.0.1 port with nothing listening: bound by the kernel, then closed again.
uint16_t UnusedLoopbackPort();

}  // namespace marketpipe::net::client_test

#endif  // MARKETPIPE_NET_CLIENT_LOOPBACK_SERVER_H_
