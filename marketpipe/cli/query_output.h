#ifndef MARKETPIPE_CLI_QUERY_OUTPUT_H_
#define MARKETPIPE_CLI_QUERY_OUTPUT_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "marketpipe/storage/store.h"

namespace marketpipe::cli {

enum class QueryFormat { kTable, kCsv, kJson };
// "table", "csv", "json"; INVALID_ARGUMENT naming the text and the allowed names.
absl::StatusOr<QueryFormat> ParseQueryFormat(std::string_view text);

// A query result as text. Prices (storage::Decimal) are printed exactly as the store gives
// them ("187.2350"), never through a double; reals as their shortest round-trip text.
//
// table: a header, a rule, one aligned line per row (numbers right-aligned), then "(N rows)".
//        NULL prints as NULL; line breaks and tabs inside a cell as \n \r \t (escaped).
// csv:   RFC 4180: a header line, CRLF line ends, fields with a comma, quote or line break
//        quoted and quotes doubled; NULL is an empty field.
// json:  an array of objects keyed by column name, one object per line; integers, decimals and
//        reals as JSON numbers (decimals keep their digits), text as strings, NULL as null.
std::string RenderQueryResult(const storage::QueryResult& result, QueryFormat format);

}  // namespace marketpipe::cli

#endif  // MARKETPIPE_CLI_QUERY_OUTPUT_H_
