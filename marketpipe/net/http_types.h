#ifndef MARKETPIPE_NET_HTTP_TYPES_H_
#define MARKETPIPE_NET_HTTP_TYPES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace marketpipe::net {

// Header fields in the order they were added. Lookups ignore ASCII case (RFC 9110).
class HttpHeaders {
 public:
  void Add(std::string name, std::string value);
  // Replaces every field named `name` with one field.
  void Set(std::string name, std::string value);
  std::optional<std::string> Get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

  friend bool operator==(const HttpHeaders&, const HttpHeaders&) = default;

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct HttpRequest {
  std::string method = "GET";
  std::string scheme = "https";  // "https" or "http"
  std::string host;
  uint16_t port = 443;
  std::string target = "/";  // path + query, already percent-encoded
  HttpHeaders headers;
  std::string body;

  // "https://host:port/target" (for messages; never contains header values).
  std::string Url() const;
};

// Spare capacity HttpClient leaves after the end of every response body, so a parser that reads
// a little past the end (simdjson needs SIMDJSON_PADDING, 64) parses the body where it is.
inline constexpr size_t kResponseBodyPadding = 64;

struct HttpResponse {
  int status = 0;
  std::string reason;
  HttpHeaders headers;
  std::string body;  // from HttpClient: capacity() >= size() + kResponseBodyPadding
};

}  // namespace marketpipe::net

#endif  // MARKETPIPE_NET_HTTP_TYPES_H_
