#include "marketpipe/net/http_types.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace marketpipe::net {

void HttpHeaders::Add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void HttpHeaders::Set(std::string name, std::string value) {
  std::erase_if(fields_, [&](const auto& f) { return absl::EqualsIgnoreCase(f.first, name); });
  Add(std::move(name), std::move(value));
}

std::optional<std::string> HttpHeaders::Get(std::string_view name) const {
  // Debian's Abseil has its own string_view type: convert explicitly.
  const absl::string_view wanted(name.data(), name.size());
  for (const auto& [n, v] : fields_) {
    if (absl::EqualsIgnoreCase(n, wanted)) return v;
  }
  return std::nullopt;
}

std::string HttpRequest::Url() const {
  const bool default_port = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  return default_port ? absl::StrCat(scheme, "://", host, target)
                      : absl::StrCat(scheme, "://", host, ":", port, target);
}

}  // namespace marketpipe::net
