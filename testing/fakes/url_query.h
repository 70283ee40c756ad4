#ifndef TESTING_FAKES_URL_QUERY_H_
#define TESTING_FAKES_URL_QUERY_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mptest {

// Query parameters of a request target, percent-decoded, in the order they appear.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Parsing is Boost.URL's (RFC 3986 origin-form, as an HTTP/1.1 request target has).

// Decodes %XX escapes and '+' (a space in application/x-www-form-urlencoded query strings, so a
// client that sends a raw '+' is caught). Text with a malformed escape is returned as is.
std::string PercentDecode(std::string_view s);

// The path of a request target ("/v2/stocks/bars?x=1" -> "/v2/stocks/bars"), as sent.
std::string_view TargetPath(std::string_view target);

// The query parameters of a request target ("/p?a=1&b=x%20y" -> {{"a","1"},{"b","x y"}}).
// A parameter without '=' has an empty value; empty items ("a=1&&b=2") are skipped. nullopt
// when `target` is not a valid origin-form target (e.g. a malformed escape, a space, a '#').
std::optional<QueryParams> ParseQueryChecked(std::string_view target);
// The same, with no parameters for an invalid target.
QueryParams ParseQuery(std::string_view target);

// The value of the first parameter named `name` (exact, case-sensitive), if any.
std::optional<std::string> FindQueryParam(const QueryParams& params, std::string_view name);

}  // namespace mptest

#endif  // TESTING_FAKES_URL_QUERY_H_
