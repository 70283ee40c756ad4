#ifndef MARKETPIPE_XML_XML_ESCAPE_H_
#define MARKETPIPE_XML_XML_ESCAPE_H_

#include <string>
#include <string_view>

namespace marketpipe {

// XML-escapes `s` for text and attribute values (also safe in HTML); characters XML 1.0 cannot
// carry (other control characters, invalid UTF-8) become U+FFFD.
std::string XmlEscape(std::string_view s);

}  // namespace marketpipe

#endif  // MARKETPIPE_XML_XML_ESCAPE_H_
