#include "marketpipe/net/client/loopback_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace marketpipe::net::client_test {
namespace {

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

[[noreturn]] void Fail(const std::string& what) {
  throw std::runtime_error(absl::StrCat(what, ": ", OpenSslErrors()));
}

void AddExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) Fail(absl::StrCat("X509V3_EXT_conf_nid(", value, ")"));
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) Fail("X509_add_ext");
}

size_t ContentLength(const std::string& head) {
  size_t start = 0;
  while (start < head.size()) {
    size_t end = head.find("\r\n", start);
    if (end == std::string::npos) end = head.size();
    const std::string line = head.substr(start, end - start);
    start = end + 2;
    const size_t colon = line.find(':');
    if (colon == std::string::npos ||
        !absl::EqualsIgnoreCase(line.substr(0, colon), "content-length")) {
      continue;
    }
    size_t n = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(colon + 1)), &n)) return n;
  }
  return 0;
}

std::string_view Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    default:
      return "Status";
  }
}

}  // namespace

// ---- TestCertificate ------------------------------------------------------------------------

TestCertificate TestCertificate::Generate(const std::string& common_name,
                                          const std::vector<std::string>& alt_names) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) Fail("EVP_EC_gen");
  X509* cert = X509_new();
  TestCertificate result(key, cert);  // frees both if anything below throws
  if (cert == nullptr) Fail("X509_new");
  X509_set_version(cert, 2);  // v3
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  if (X509_set_pubkey(cert, key) != 1) Fail("X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert, name);
  AddExtension(cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(cert, NID_key_usage, "critical,digitalSignature,keyCertSign");
  AddExtension(cert, NID_subject_key_identifier, "hash");
  if (!alt_names.empty()) AddExtension(cert, NID_subject_alt_name, absl::StrJoin(alt_names, ","));
  if (X509_sign(cert, key, EVP_sha256()) <= 0) Fail("X509_sign");
  return result;
}

TestCertificate::TestCertificate(TestCertificate&& other) noexcept
    : key_(std::exchange(other.key_, nullptr)), cert_(std::exchange(other.cert_, nullptr)) {}

TestCertificate& TestCertificate::operator=(TestCertificate&& other) noexcept {
  std::swap(key_, other.key_);
  std::swap(cert_, other.cert_);
  return *this;
}

TestCertificate::~TestCertificate() {
  X509_free(cert_);
  EVP_PKEY_free(key_);
}

std::string TestCertificate::Pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr || PEM_write_bio_X509(bio, cert_) != 1) Fail("PEM_write_bio_X509");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  return pem;
}

std::string TestCertificate::KeyPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio, key_, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    Fail("PEM_write_bio_PrivateKey");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  return pem;
}

void TestCertificate::WritePem(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << Pem();
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

// ---- Peer -------------------------------------------------------------------------------------

Peer::~Peer() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  Close();
}

long Peer::ReadSome(char* data, size_t size) {
  if (fd_ < 0) return -1;
  if (ssl_ != nullptr) return SSL_read(ssl_, data, static_cast<int>(size));
  for (;;) {
    const ssize_t n = ::recv(fd_, data, size, 0);
    if (n < 0 && errno == EINTR) continue;
    return n;
  }
}

std::optional<std::string> Peer::ReadRequest() {
  for (;;) {
    const size_t end = pending_.find("\r\n\r\n");
    if (end != std::string::npos) {
      const size_t head_size = end + 4;
      const size_t total = head_size + ContentLength(pending_.substr(0, head_size));
      while (pending_.size() < total) {
        char buf[4096];
        const long n = ReadSome(buf, sizeof buf);
        if (n <= 0) return std::nullopt;
        pending_.append(buf, static_cast<size_t>(n));
      }
      std::string request = pending_.substr(0, total);
      pending_.erase(0, total);
      server_.Record(index_, request);
      return request;
    }
    char buf[4096];
    const long n = ReadSome(buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    pending_.append(buf, static_cast<size_t>(n));
  }
}

bool Peer::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    if (fd_ < 0) return false;
    long n;
    if (ssl_ != nullptr) {
      n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
    } else {
      n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
    }
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void Peer::WaitForClose() {
  char buf[4096];
  while (ReadSome(buf, sizeof buf) > 0) {
  }
}

void Peer::Reset() {
  if (fd_ < 0) return;
  linger l{.l_onoff = 1, .l_linger = 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  Close();
}

void Peer::Close() {
  if (fd_ < 0) return;
  server_.CloseFd(fd_);
  fd_ = -1;
}

// ---- LoopbackServer ---------------------------------------------------------------------------

LoopbackServer::LoopbackServer(std::vector<Script> scripts, const TestCertificate* tls)
    : scripts_(std::move(scripts)) {
  // SSL_write on a connection the client dropped must fail, not kill the test.
  std::signal(SIGPIPE, SIG_IGN);
  if (tls != nullptr) {
    tls_ctx_ = SSL_CTX_new(TLS_server_method());
    if (tls_ctx_ == nullptr || SSL_CTX_use_certificate(tls_ctx_, tls->cert()) != 1 ||
        SSL_CTX_use_PrivateKey(tls_ctx_, tls->key()) != 1) {
      Fail("server SSL_CTX");
    }
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe2(wake_pipe_, O_CLOEXEC) != 0) {
    throw std::runtime_error(absl::StrCat("LoopbackServer: cannot listen: ", std::strerror(errno)));
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

LoopbackServer::~LoopbackServer() {
  Stop();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  for (int fd : wake_pipe_) {
    if (fd >= 0) ::close(fd);
  }
  SSL_CTX_free(tls_ctx_);
}

void LoopbackServer::Stop() {
  if (!stopping_.exchange(true)) {
    const char byte = 1;
    [[maybe_unused]] ssize_t ignored = ::write(wake_pipe_[1], &byte, 1);
  }
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    workers.swap(workers_);
  }
  for (auto& w : workers) w.join();
}

void LoopbackServer::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{.fd = listen_fd_, .events = POLLIN, .revents = 0},
                     {.fd = wake_pipe_[0], .events = POLLIN, .revents = 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0 || stopping_) return;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const size_t index = accepted_.fetch_add(1);
    if (index >= scripts_.size()) {
      ::close(fd);
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    open_fds_.push_back(fd);
    workers_.emplace_back([this, fd, index] { Serve(fd, index); });
  }
}

void LoopbackServer::Serve(int fd, size_t index) {
  Peer peer(*this, fd, index);
  if (tls_ctx_ != nullptr) {
    peer.ssl_ = SSL_new(tls_ctx_);
    SSL_set_fd(peer.ssl_, fd);
    if (SSL_accept(peer.ssl_) != 1) {
      std::lock_guard<std::mutex> lock(mu_);
      tls_failures_.push_back(OpenSslErrors());
      return;
    }
    if (const char* name = SSL_get_servername(peer.ssl_, TLSEXT_NAMETYPE_host_name)) {
      peer.sni_ = name;
    }
  }
  scripts_[index](peer);
}

void LoopbackServer::Record(size_t connection, std::string bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.push_back({connection, std::move(bytes)});
}

void LoopbackServer::CloseFd(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase(open_fds_, fd);
  ::close(fd);
}

std::vector<LoopbackServer::Request> LoopbackServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

std::vector<std::string> LoopbackServer::tls_failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tls_failures_;
}

// ---- Helpers ----------------------------------------------------------------------------------

std::string HttpResponseBytes(int status, std::string_view body,
                              const std::vector<std::string>& extra_headers) {
  std::string out = absl::StrCat("HTTP/1.1 ", status, " ", std::string(Reason(status)), "\r\n");
  for (const auto& h : extra_headers) absl::StrAppend(&out, h, "\r\n");
  absl::StrAppend(&out, "Content-Length: ", body.size(), "\r\n\r\n", std::string(body));
  return out;
}

uint16_t UnusedLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error(absl::StrCat("UnusedLoopbackPort: ", std::strerror(errno)));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace marketpipe::net::client_test
