#ifndef MARKETPIPE_NET_HTTP_TRANSPORT_H_
#define MARKETPIPE_NET_HTTP_TRANSPORT_H_

#include <boost/asio/awaitable.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "marketpipe/net/http_types.h"

namespace marketpipe::net {

// Sends one HTTP request and returns the whole response. Any status code is a response (the
// caller decides what 429 or 503 means); a Status error means no usable response arrived.
// Transient (IsTransientTransportError: a retry may succeed):
//   UNAVAILABLE         DNS failure, connection refused, TLS handshake failure other than the
//                       certificate, connection closed or reset before any response
//   DEADLINE_EXCEEDED   connect, read or whole-request timeout
//   DATA_LOSS           truncated or malformed HTTP, reset mid-response
// Permanent (retrying cannot help):
//   FAILED_PRECONDITION the server's certificate failed verification (untrusted, expired, wrong
//                       host name; the message says "certificate verification failed"), or
//                       the system CA store is unusable
//   RESOURCE_EXHAUSTED  response (or its Content-Length) over the size limit
//   INVALID_ARGUMENT    the request cannot be sent (bad scheme, CR/LF in a field)
//   CANCELLED           the awaiting coroutine was cancelled
// Implementations: //marketpipe/net/client:http_client, mptest::MockTransport.
//
// Completions are always delivered on the awaiting coroutine's executor, never inline.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual boost::asio::awaitable<absl::StatusOr<HttpResponse>> Send(HttpRequest request) = 0;
};

// True for the transport errors a retry may cure (see HttpTransport): UNAVAILABLE,
// DEADLINE_EXCEEDED and DATA_LOSS. Everything else, certificate failures included, is permanent.
inline bool IsTransientTransportError(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) || absl::IsDataLoss(s);
}

}  // namespace marketpipe::net

#endif  // MARKETPIPE_NET_HTTP_TRANSPORT_H_
