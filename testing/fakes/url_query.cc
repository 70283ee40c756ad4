#include "testing/fakes/url_query.h"

#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/url_view.hpp>

namespace mptest {
namespace {

namespace urls = boost::urls;

// Query strings are application/x-www-form-urlencoded: '+' is a space.
const urls::encoding_opts kFormEncoding(/*space_as_plus=*/true);

}  // namespace

std::string PercentDecode(std::string_view s) {
  const auto encoded = urls::make_pct_string_view(urls::string_view(s.data(), s.size()));
  if (!encoded) return std::string(s);
  return encoded->decode(kFormEncoding);
}

std::string_view TargetPath(std::string_view target) {
  const auto url = urls::parse_origin_form(urls::string_view(target.data(), target.size()));
  if (!url) return target.substr(0, target.find_first_of("?#"));
  const urls::pct_string_view path = url->encoded_path();
  return std::string_view(path.data(), path.size());
}

std::optional<QueryParams> ParseQueryChecked(std::string_view target) {
  const auto url = urls::parse_origin_form(urls::string_view(target.data(), target.size()));
  if (!url) return std::nullopt;
  QueryParams params;
  for (const urls::param& p : url->params(kFormEncoding)) {
    if (p.key.empty() && !p.has_value) continue;  // "&&" or a bare "?"
    params.emplace_back(p.key, p.value);
  }
  return params;
}

QueryParams ParseQuery(std::string_view target) {
  return ParseQueryChecked(target).value_or(QueryParams());
}

std::optional<std::string> FindQueryParam(const QueryParams& params, std::string_view name) {
  for (const auto& [n, v] : params) {
    if (n == name) return v;
  }
  return std::nullopt;
}

}  // namespace mptest
