#ifndef MARKETPIPE_CORE_QUOTE_H_
#define MARKETPIPE_CORE_QUOTE_H_

#include <string>
#include <string_view>

namespace marketpipe::core_internal {

// Returns `text` in double quotes for an error message: C-escaped so control bytes and
// invalid UTF-8 stay visible, and cut after 64 bytes (then suffixed "...") so a
// multi-megabyte garbage field cannot flood a log line.
std::string Quote(std::string_view text);

}  // namespace marketpipe::core_internal

#endif  // MARKETPIPE_CORE_QUOTE_H_
