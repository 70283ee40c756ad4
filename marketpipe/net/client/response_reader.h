#ifndef MARKETPIPE_NET_CLIENT_RESPONSE_READER_H_
#define MARKETPIPE_NET_CLIENT_RESPONSE_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "marketpipe/net/http_types.h"

namespace marketpipe::net {

// Reads one HTTP/1.1 response from bytes as they arrive off a connection: the part of
// HttpClient that trusts nothing the server sends (a fuzz target feeds it arbitrary bytes).
// Beast's parser does the framing (Content-Length, chunked, until EOF); this adds the limits and
// says what went wrong in words.
//
//   ResponseReader reader({.max_body_bytes = 8 << 20}, "host:443");
//   while (!reader.done() && reader.status().ok()) {
//     ... read some bytes; reader.Put(bytes) ... or reader.PutEof() at end of stream
//   }
//   if (reader.done()) HttpResponse r = reader.TakeResponse();
//
// Every response body has at least kResponseBodyPadding bytes of spare capacity after its end.
class ResponseReader {
 public:
  struct Limits {
    // Largest body accepted; a larger one, or a Content-Length announcing one, is
    // RESOURCE_EXHAUSTED as soon as it is seen (the body is not read first).
    uint64_t max_body_bytes = uint64_t{8} << 20;
    // Largest status line + header block.
    uint32_t max_header_bytes = 64 * 1024;
    // The request was HEAD: the response has no body whatever its headers say.
    bool head_request = false;
  };

  // `peer` ("host:port") names the server in error messages.
  ResponseReader(Limits limits, std::string peer);
  ~ResponseReader();
  ResponseReader(const ResponseReader&) = delete;
  ResponseReader& operator=(const ResponseReader&) = delete;

  // Feeds the next bytes received. Returns how many belong to this response: all of them
  // until the response is complete or has failed; bytes after a complete response are not
  // consumed (a server that sends more than it announced cannot have the connection reused).
  size_t Put(std::string_view bytes);
  // The server closed the connection cleanly. Completes a response delimited by end of stream;
  // anything else unfinished becomes DATA_LOSS (or UNAVAILABLE when nothing had arrived).
  void PutEof();

  // A complete response has been read.
  bool done() const;
  // OK unless the response is malformed, over a limit or cut short (see Put/PutEof):
  //   DATA_LOSS           malformed HTTP, truncated body
  //   RESOURCE_EXHAUSTED  body or Content-Length over max_body_bytes, header over its limit
  //   UNAVAILABLE         the connection closed before any byte of a response
  // Messages name `peer`, never a header value.
  const absl::Status& status() const { return status_; }
  // At least one byte arrived.
  bool got_some() const { return got_some_; }
  // The status line and header block have been read.
  bool header_done() const;
  // Body bytes received so far.
  size_t body_bytes() const;
  // After done(): the connection may carry another request (HTTP/1.1 keep-alive, and the
  // response was not delimited by end of stream).
  bool keep_alive() const;
  // After done(): the response. Call once.
  HttpResponse TakeResponse();

 private:
  struct Impl;
  void Fail(absl::Status status);

  std::unique_ptr<Impl> impl_;
  std::string peer_;
  Limits limits_;
  absl::Status status_;
  bool got_some_ = false;
};

}  // namespace marketpipe::net

#endif  // MARKETPIPE_NET_CLIENT_RESPONSE_READER_H_
