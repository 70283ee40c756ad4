#ifndef MARKETPIPE_NET_HTTP_TRANSPORT_H_
#define MARKETPIPE_NET_HTTP_TRANSPORT_H_

#include <boost/asio/awaitable.hpp>

#include "absl/status/statusor.h"
#include "marketpipe/net/http_types.h"

namespace marketpipe::net {

// Sends one HTTP request and returns the whole response. Any status code is a response (the
// caller decides what 429 or 503 means); a Status error means no usable response arrived:
//   UNAVAILABLE         DNS failure, connection refused, TLS failure, reset before any response
//   DEADLINE_EXCEEDED   connect or read timeout
//   DATA_LOSS           truncated or malformed HTTP, reset mid-response
//   RESOURCE_EXHAUSTED  response over the size limit
//   INVALID_ARGUMENT    the request cannot be sent (bad scheme, CR/LF in a field)
//   CANCELLED           the awaiting coroutine was cancelled
// Implementations: //marketpipe/net/client:http_client, testing::MockTransport.
//
// Completions are always delivered on the awaiting coroutine's executor, never inline.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual boost::asio::awaitable<absl::StatusOr<HttpResponse>> Send(HttpRequest request) = 0;
};

}  // namespace marketpipe::net

#endif  // MARKETPIPE_NET_HTTP_TRANSPORT_H_
